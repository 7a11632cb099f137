"""The live socket, through the real ASGI application and the Redis channel layer."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from prices.models import Quote
from tests.support.admin_forms import watchlist_change_data
from watchlists import services
from watchlists.groups import STATUS_GROUP, watchlist_group
from watchlists.presence import watchlists_viewed

from .sockets import close_code, communicator, open_socket, receive_json

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_is_closed_with_4401(watchlist):
    assert await close_code(communicator(f"/ws/watchlists/{watchlist.pk}/")) == 4401


async def test_another_users_list_is_closed_with_4403(watchlist, other_user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(other_user)
    assert await close_code(communicator(f"/ws/watchlists/{watchlist.pk}/", cookie)) == 4403


async def test_missing_list_is_closed_with_4404(user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    assert await close_code(communicator("/ws/watchlists/987654/", cookie)) == 4404


async def test_foreign_origin_is_refused(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm = communicator(f"/ws/watchlists/{watchlist.pk}/", cookie, origin=(b"origin", b"http://evil.example"))
    connected, _ = await comm.connect(timeout=5)
    assert not connected
    await comm.disconnect()


async def test_a_session_ended_by_a_password_change_is_closed_with_4401(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)

    def change_password():
        user.set_password("a-new-password-entirely")
        user.save()

    await database_sync_to_async(change_password)()
    assert await close_code(communicator(f"/ws/watchlists/{watchlist.pk}/", cookie)) == 4401


async def test_an_inactive_user_is_closed_with_4401(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    user.is_active = False
    await database_sync_to_async(user.save)()
    assert await close_code(communicator(f"/ws/watchlists/{watchlist.pk}/", cookie)) == 4401


async def test_an_unknown_or_garbled_session_cookie_is_closed_with_4401(watchlist):
    for cookie in (b"sessionid=not-a-session", b"sessionid=", b"sessionid=\xff\x00; other=1", b"=;;"):
        assert await close_code(communicator(f"/ws/watchlists/{watchlist.pk}/", cookie)) == 4401


async def test_snapshot_carries_stored_quotes_and_source(watchlist, user, session_cookie):
    await database_sync_to_async(Quote.objects.create)(
        symbol="AAPL",
        name="Apple Inc.",
        price="244.600000",
        change="3.070007",
        change_percent="1.2711",
        currency="USD",
        price_hint=2,
        market_state="CLOSED",
    )
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, snapshot = await open_socket(watchlist, cookie)
    try:
        assert snapshot["watchlist"] == watchlist.pk
        assert snapshot["symbols"] == ["AAPL", "MSFT"]
        [aapl] = snapshot["quotes"]
        assert aapl["symbol"] == "AAPL"
        assert aapl["price"] == "244.6"
        assert aapl["change"] == "3.070007"
        assert aapl["market_state"] == "CLOSED"
        assert snapshot["source"]["source"] == "simulated"
        assert snapshot["source"]["simulated"] is True
        assert snapshot["source"]["state"] == "ok"
    finally:
        await comm.disconnect()


async def test_presence_is_recorded_and_removed(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    first, _ = await open_socket(watchlist, cookie)
    second, _ = await open_socket(watchlist, cookie)
    assert watchlists_viewed() == {watchlist.pk: 2}
    await first.disconnect()
    assert watchlists_viewed() == {watchlist.pk: 1}
    await second.disconnect()
    assert watchlists_viewed() == {}


async def test_ping_gets_pong(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        await comm.send_to(text_data='{"type":"ping"}')
        assert await receive_json(comm) == {"type": "pong"}
    finally:
        await comm.disconnect()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "malformed"),
        ('{"type":"subscribe","symbols":["AAPL"]}', "unknown_type"),
        ("[1,2,3]", "unknown_type"),
        ('"ping"', "unknown_type"),
        ("{}", "unknown_type"),
        ('{"type":"ping","pad":"' + "x" * 2000 + '"}', "too_large"),
    ],
)
async def test_bad_messages_get_an_error_and_the_socket_lives(watchlist, user, session_cookie, message, code):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        await comm.send_to(text_data=message)
        error = await receive_json(comm)
        assert error["type"] == "error"
        assert error["code"] == code
        assert error["message"]
        await comm.send_to(text_data='{"type":"ping"}')
        assert await receive_json(comm) == {"type": "pong"}
    finally:
        await comm.disconnect()


async def test_binary_messages_are_refused(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        await comm.send_to(bytes_data=b"\x00\x01")
        assert (await receive_json(comm))["code"] == "binary"
    finally:
        await comm.disconnect()


async def test_ping_flood_is_rate_limited(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        replies = []
        for _ in range(15):
            await comm.send_to(text_data='{"type":"ping"}')
            replies.append(await receive_json(comm))
        assert replies[:10] == [{"type": "pong"}] * 10
        assert {reply.get("code") for reply in replies[10:]} == {"rate_limited"}
    finally:
        await comm.disconnect()


async def test_group_events_are_forwarded_verbatim(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        layer = get_channel_layer()
        text = json.dumps({"type": "quotes", "watchlist": watchlist.pk, "quotes": []})
        await layer.group_send(watchlist_group(watchlist.pk), {"type": "quotes.update", "text": text})
        assert await comm.receive_from(timeout=3) == text
        status = '{"type":"status","source":"simulated","state":"ok","retry_in":0}'
        await layer.group_send(STATUS_GROUP, {"type": "source.status", "text": status})
        assert await comm.receive_from(timeout=3) == status
    finally:
        await comm.disconnect()


async def test_adding_a_symbol_elsewhere_reaches_the_open_page(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    try:
        await database_sync_to_async(Quote.objects.create)(symbol="NVDA", price="180.5", market_state="CLOSED")
        await database_sync_to_async(services.watchlist_symbol_add)(watchlist=watchlist, symbol="nvda")
        message = await receive_json(comm)
        assert message["type"] == "watchlist"
        assert message["watchlist"] == watchlist.pk
        assert message["symbols"] == ["AAPL", "MSFT", "NVDA"]
        # The stored quote comes along, so the new row shows a price at once.
        assert [(q["symbol"], q["price"]) for q in message["quotes"]] == [("NVDA", "180.5")]
    finally:
        await comm.disconnect()


async def test_deleting_the_list_closes_open_pages_with_4404(watchlist, user, session_cookie):
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)
    await database_sync_to_async(services.watchlist_delete)(watchlist=watchlist)
    message = await receive_json(comm)
    assert message["code"] == "deleted"
    output = await comm.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4404}
    await comm.disconnect()


async def test_other_lists_do_not_hear_each_other(user, session_cookie, make_watchlist):
    one = await database_sync_to_async(make_watchlist)(user, "One", ["AAPL"])
    two = await database_sync_to_async(make_watchlist)(user, "Two", ["MSFT"])
    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(two, cookie)
    try:
        await database_sync_to_async(services.watchlist_symbol_add)(watchlist=one, symbol="TSLA")
        assert await comm.receive_nothing(timeout=0.5)
    finally:
        await comm.disconnect()


async def test_an_admin_edit_reaches_the_open_page(watchlist, user, make_user, session_cookie):
    from django.test import Client

    cookie = await database_sync_to_async(session_cookie)(user)
    comm, _ = await open_socket(watchlist, cookie)

    def admin_adds_tsla():
        client = Client()
        client.force_login(make_user("root", is_staff=True, is_superuser=True))
        data = watchlist_change_data(watchlist, new_symbols=["tsla"])
        return client.post(f"/admin/watchlists/watchlist/{watchlist.pk}/change/", data).status_code

    try:
        assert await database_sync_to_async(admin_adds_tsla)() == 302
        message = await receive_json(comm)
        assert message["type"] == "watchlist"
        assert message["symbols"] == ["AAPL", "MSFT", "TSLA"]
    finally:
        await comm.disconnect()


async def test_per_user_socket_cap_closes_extras_with_4429(
    watchlist, user, other_user, session_cookie, settings, make_watchlist
):
    settings.WATCHLIST_MAX_SOCKETS_PER_USER = 2
    cookie = await database_sync_to_async(session_cookie)(user)
    first, _ = await open_socket(watchlist, cookie)
    second, _ = await open_socket(watchlist, cookie)
    assert await close_code(communicator(f"/ws/watchlists/{watchlist.pk}/", cookie)) == 4429
    # The cap is per user: someone else still gets in.
    theirs = await database_sync_to_async(make_watchlist)(other_user, "Theirs", ["TSLA"])
    other_cookie = await database_sync_to_async(session_cookie)(other_user)
    third, _ = await open_socket(theirs, other_cookie)
    await third.disconnect()
    # Closing a tab frees its place.
    await first.disconnect()
    again, _ = await open_socket(watchlist, cookie)
    await again.disconnect()
    await second.disconnect()
