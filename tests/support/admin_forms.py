"""The POST data of the admin's watchlist change form, as a browser would send it."""


def watchlist_change_data(watchlist, *, items=None, new_symbols=(), name=None) -> dict[str, str]:
    """The form with `items` (default: the list's items now) shown, plus rows for `new_symbols`."""
    items = list(watchlist.items.all()) if items is None else items
    data = {
        "owner": str(watchlist.owner_id),
        "name": name or watchlist.name,
        "enabled": "on",
        "items-TOTAL_FORMS": str(len(items) + len(new_symbols)),
        "items-INITIAL_FORMS": str(len(items)),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    for i, item in enumerate(items):
        data.update(
            {
                f"items-{i}-id": str(item.pk),
                f"items-{i}-watchlist": str(watchlist.pk),
                f"items-{i}-symbol": item.symbol,
                f"items-{i}-position": str(item.position),
            }
        )
    for offset, symbol in enumerate(new_symbols, start=len(items)):
        data.update({f"items-{offset}-symbol": symbol, f"items-{offset}-position": str(100 + offset)})
    return data
