"""Open watchlists "in a browser" for tick tests: presence entries, as sockets write them."""

from asgiref.sync import async_to_sync

from watchlists import presence


def view(*watchlists, viewers: int = 1) -> None:
    for watchlist in watchlists:
        for n in range(viewers):
            async_to_sync(presence.presence_touch)(watchlist_id=watchlist.pk, socket_id=f"test.{watchlist.pk}.{n}")
