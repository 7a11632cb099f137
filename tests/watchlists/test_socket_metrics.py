"""Messages sent on live sockets are counted in the web process and reach Redis in batches, not per message."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from config.metrics import metrics_local_flush_async
from config.redis_client import redis_key, redis_sync
from watchlists.groups import STATUS_GROUP, watchlist_group

from .sockets import close_code, communicator, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES_KEY = redis_key("metrics", "tickerwatch_socket_messages_sent_total")
CONNECTIONS_KEY = redis_key("metrics", "tickerwatch_socket_connections_total")


def stored(key: str) -> dict[str, int]:
    return {json.loads(k)[0]: int(v) for k, v in redis_sync().hgetall(key).items()}


async def test_deliveries_are_counted_in_memory_then_flushed_in_one_go(watchlist, user, session_cookie, settings):
    settings.METRICS_FLUSH_SECONDS = 3600  # no timed flush during the test
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        layer = get_channel_layer()
        text = json.dumps({"type": "quotes", "watchlist": watchlist.pk, "quotes": []})
        for _ in range(25):
            await layer.group_send(watchlist_group(watchlist.pk), {"type": "quotes.update", "text": text})
            assert await comm.receive_from(timeout=3) == text
        await layer.group_send(STATUS_GROUP, {"type": "source.status", "text": '{"type":"status"}'})
        await comm.receive_from(timeout=3)
        # 27 messages sent (snapshot included) and not one metrics write to Redis yet.
        assert stored(MESSAGES_KEY) == {}
        assert await metrics_local_flush_async() == 4  # quotes, status, snapshot, accepted connection
        assert stored(MESSAGES_KEY) == {"quotes": 25, "status": 1, "snapshot": 1}
        assert stored(CONNECTIONS_KEY) == {"accepted": 1}
    finally:
        await comm.disconnect()


async def test_the_timed_flush_needs_no_further_messages(watchlist, user, session_cookie, settings):
    settings.METRICS_FLUSH_SECONDS = 0.2
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        for _ in range(50):
            if stored(MESSAGES_KEY).get("snapshot") == 1:
                break
            await asyncio.sleep(0.05)
        assert stored(MESSAGES_KEY) == {"snapshot": 1}
    finally:
        await comm.disconnect()


async def test_refused_sockets_are_counted_by_close_code(watchlist, settings):
    settings.METRICS_FLUSH_SECONDS = 3600
    assert await close_code(communicator(f"/ws/watchlists/{watchlist.pk}/")) == 4401
    await metrics_local_flush_async()
    assert stored(CONNECTIONS_KEY) == {"4401": 1}
