"""The product's core promise: upstream requests per tick do not grow with viewers.

Opens 1, 10 and 100 real sockets (through the ASGI application and the Redis
channel layer) on 10 watchlists sharing 30 distinct symbols, runs a tick with
the Yahoo provider against a local fake Yahoo, and counts requests at the
HTTP layer. Run with `-s` to see the table:

    make test PYTEST_ARGS="tests/watchlists/test_upstream_per_tick.py -s"
"""

import pytest
from channels.db import database_sync_to_async

from watchlists import live

from .sockets import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

SYMBOLS = [f"T{i:02d}" for i in range(30)]


@pytest.fixture
def ten_lists(make_user, make_watchlist):
    owners = [make_user(f"viewer{n}") for n in range(10)]
    # Each list holds 9 of the 30 symbols; neighbours overlap, together they cover all 30.
    return [
        (owner, make_watchlist(owner, f"List {n}", [SYMBOLS[(3 * n + k) % 30] for k in range(9)]))
        for n, owner in enumerate(owners)
    ]


async def open_sockets(count, ten_lists, session_cookie):
    cookies = [await database_sync_to_async(session_cookie)(owner) for owner, _ in ten_lists]
    sockets = []
    for n in range(count):
        index = n % len(ten_lists)
        comm, _ = await open_socket(ten_lists[index][1], cookies[index], timeout=10)
        sockets.append(comm)
    return sockets


async def test_upstream_requests_per_tick_are_the_same_for_1_10_and_100_sockets(
    fake_yahoo, ten_lists, session_cookie, monkeypatch
):
    # Only the tick fetches here: no on-connect refresh racing it.
    monkeypatch.setattr(live, "watchlist_refresh_request", lambda **kwargs: False)
    tick = database_sync_to_async(live.quotes_tick_run)
    figures = {}
    for count in (1, 10, 100):
        sockets = await open_sockets(count, ten_lists, session_cookie)
        try:
            fake_yahoo.reset_counts()
            report = await tick()
            figures[count] = (report.active_lists, report.symbols, fake_yahoo.count("/v7/finance/quote"))
        finally:
            for comm in sockets:
                await comm.disconnect()

    print("\nsockets  active lists  distinct symbols  upstream requests")
    for count, (lists, symbols, requests) in figures.items():
        print(f"{count:>7}  {lists:>12}  {symbols:>16}  {requests:>17}")

    assert figures[1] == (1, 9, 1)  # one open list: its 9 symbols, one request
    assert figures[10] == figures[100] == (10, 30, 1)  # all 30 symbols, still one request
