# Every open watchlist page also joins this group, for the quote source's
# status (ok / degraded / down) and the pipeline's heartbeat.
STATUS_GROUP = "quotes.status"


def watchlist_group(watchlist_id: int) -> str:
    """Channel-layer group of one watchlist's open pages.

    Built from the numeric id only: group names allow [A-Za-z0-9._-], so a raw
    symbol such as ^GSPC or EURUSD=X must never end up in one.
    """
    return f"watchlist.{int(watchlist_id)}"
