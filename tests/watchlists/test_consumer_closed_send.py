"""A tick arriving just as the browser closes must not crash the consumer and skip its cleanup.

Found by the fan-out benchmark (bench/): daphne raises autobahn's Disconnected
when a group message is forwarded to a socket that has just closed. The
consumer died, its disconnect() never ran, and its presence task went on
refreshing presence forever: the list stayed "active" and kept being fetched.
"""

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from watchlists.consumers import WatchlistConsumer
from watchlists.groups import watchlist_group
from watchlists.presence import watchlists_viewed

from .sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_send_to_a_closed_socket_is_dropped_and_cleanup_still_runs(
    watchlist, user, session_cookie, monkeypatch
):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    assert watchlists_viewed() == {watchlist.pk: 1}

    original_send = WatchlistConsumer.send

    async def send_on_closed_protocol(self, text_data=None, bytes_data=None, close=False):
        if text_data and '"type":"quotes"' in text_data:
            raise RuntimeError("Attempt to send on a closed protocol")  # what daphne raises
        return await original_send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    monkeypatch.setattr(WatchlistConsumer, "send", send_on_closed_protocol)
    text = json.dumps({"type": "quotes", "watchlist": watchlist.pk, "quotes": []}, separators=(",", ":"))
    await get_channel_layer().group_send(watchlist_group(watchlist.pk), {"type": "quotes.update", "text": text})
    assert await comm.receive_nothing(timeout=0.5)

    await comm.disconnect()
    # The consumer lived on to its disconnect, which removed its presence.
    assert watchlists_viewed() == {}
