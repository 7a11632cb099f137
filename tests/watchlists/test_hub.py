"""A web process is one channel-layer member per group for all of its sockets (watchlists.hub)."""

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from watchlists import presence
from watchlists.consumers import WatchlistConsumer
from watchlists.groups import STATUS_GROUP, watchlist_group
from watchlists.hub import _hubs, socket_hub
from watchlists.presence import watchlists_viewed

from .sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def quotes_text(watchlist, n: int = 0) -> str:
    return json.dumps({"type": "quotes", "watchlist": watchlist.pk, "quotes": [], "n": n}, separators=(",", ":"))


async def test_many_sockets_share_one_membership_per_group(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    sockets = [(await open_socket(watchlist, cookie))[0] for _ in range(5)]
    try:
        hub = socket_hub()
        relays = list(hub.relays.values())
        assert sorted(hub.relays) == sorted([watchlist_group(watchlist.pk), STATUS_GROUP])
        assert [len(relay.sockets) for relay in relays] == [5, 5]

        text = quotes_text(watchlist)
        await get_channel_layer().group_send(watchlist_group(watchlist.pk), {"type": "quotes.update", "text": text})
        assert [await comm.receive_from(timeout=3) for comm in sockets] == [text] * 5
        # Received once by the process, delivered once to each socket: no duplicates.
        assert all([await comm.receive_nothing(timeout=0.2) for comm in sockets])
    finally:
        for comm in sockets:
            await comm.disconnect()
    # The last socket out takes the memberships, the refresher and the hub with it.
    assert asyncio.get_running_loop() not in _hubs
    assert not hub.relays and hub.refresher is None
    assert all(relay.receiver.cancelled() for relay in relays)


async def test_a_socket_that_leaves_gets_nothing_more_and_the_others_go_on(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    staying, _ = await open_socket(watchlist, cookie)
    leaving, _ = await open_socket(watchlist, cookie)
    try:
        await leaving.disconnect()
        assert len(socket_hub().relays[watchlist_group(watchlist.pk)].sockets) == 1
        text = quotes_text(watchlist)
        await get_channel_layer().group_send(watchlist_group(watchlist.pk), {"type": "quotes.update", "text": text})
        assert await staying.receive_from(timeout=3) == text
        assert watchlists_viewed() == {watchlist.pk: 1}
    finally:
        await staying.disconnect()


async def test_a_socket_whose_send_waits_does_not_hold_up_the_others(watchlist, user, session_cookie, monkeypatch):
    # uvicorn's websockets backend waits in send while a slow reader's buffer is full.
    cookie = await database_sync_to_async(session_cookie)(user)
    slow, _ = await open_socket(watchlist, cookie)
    (slow_consumer,) = socket_hub().relays[watchlist_group(watchlist.pk)].sockets
    fast, _ = await open_socket(watchlist, cookie)
    released = asyncio.Event()
    original_send = WatchlistConsumer.send

    async def send(self, text_data=None, bytes_data=None, close=False):
        if self is slow_consumer:
            await released.wait()
        return await original_send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    monkeypatch.setattr(WatchlistConsumer, "send", send)
    try:
        layer = get_channel_layer()
        texts = [quotes_text(watchlist, n) for n in range(3)]
        for text in texts:
            await layer.group_send(watchlist_group(watchlist.pk), {"type": "quotes.update", "text": text})
        assert [await fast.receive_from(timeout=3) for _ in texts] == texts
        assert await slow.receive_nothing(timeout=0.2)
        released.set()
        assert [await slow.receive_from(timeout=3) for _ in texts] == texts
    finally:
        released.set()
        await slow.disconnect()
        await fast.disconnect()


async def test_presence_is_kept_fresh_for_every_socket_in_one_batch(
    watchlist, user, session_cookie, settings, monkeypatch
):
    settings.PRESENCE_REFRESH_SECONDS = 0.2
    settings.PRESENCE_TTL_SECONDS = 1
    batches = []
    original = presence.presence_touch_many

    async def counting(*, sockets):
        batches.append(len(sockets))
        await original(sockets=sockets)

    monkeypatch.setattr(presence, "presence_touch_many", counting)
    cookie = await database_sync_to_async(session_cookie)(user)
    sockets = [(await open_socket(watchlist, cookie))[0] for _ in range(3)]
    try:
        await asyncio.sleep(2)  # twice the time an entry lives without a refresh
        assert watchlists_viewed() == {watchlist.pk: 3}
        # One batch per refresh for the whole process, not one call per socket.
        assert batches and set(batches) == {3}
        assert 5 <= len(batches) <= 11
    finally:
        for comm in sockets:
            await comm.disconnect()
    assert watchlists_viewed() == {}


async def test_a_group_message_of_unknown_shape_is_dropped_and_the_socket_lives(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        layer = get_channel_layer()
        await layer.group_send(watchlist_group(watchlist.pk), {"type": "chat.message", "text": "hello"})
        await layer.group_send(watchlist_group(watchlist.pk), {"type": "quotes.update", "payload": {}})
        assert await comm.receive_nothing(timeout=0.5)
        text = quotes_text(watchlist)
        await layer.group_send(watchlist_group(watchlist.pk), {"type": "quotes.update", "text": text})
        assert await comm.receive_from(timeout=3) == text
    finally:
        await comm.disconnect()


async def test_a_message_that_arrives_before_the_snapshot_follows_it(watchlist, user, session_cookie, monkeypatch):
    from asgiref.sync import async_to_sync

    from watchlists import live

    text = quotes_text(watchlist, 7)
    original_snapshot = live.watchlist_snapshot

    def snapshot_while_a_tick_publishes(*, watchlist_id):
        result = original_snapshot(watchlist_id=watchlist_id)
        # A tick publishes after the snapshot was read, before it is sent.
        async_to_sync(get_channel_layer().group_send)(
            watchlist_group(watchlist_id), {"type": "quotes.update", "text": text}
        )
        time.sleep(0.3)  # long enough for the process to receive it
        return result

    monkeypatch.setattr(live, "watchlist_snapshot", snapshot_while_a_tick_publishes)
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, snapshot = await open_socket(watchlist, cookie)
    try:
        assert snapshot["type"] == "snapshot"
        assert await comm.receive_from(timeout=3) == text
    finally:
        await comm.disconnect()


async def test_a_socket_that_closes_during_a_refresh_is_not_written_back(watchlist, user, session_cookie, monkeypatch):
    cookie = await database_sync_to_async(session_cookie)(user)
    staying, _ = await open_socket(watchlist, cookie)
    leaving, _ = await open_socket(watchlist, cookie)
    hub = socket_hub()
    original = presence.presence_touch_many

    async def slow_batch(*, sockets):
        await leaving.disconnect()  # closes while the batch is on its way
        await original(sockets=sockets)

    monkeypatch.setattr(presence, "presence_touch_many", slow_batch)
    try:
        await hub.refresh()
        assert watchlists_viewed() == {watchlist.pk: 1}
    finally:
        await staying.disconnect()
