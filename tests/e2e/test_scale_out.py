"""Scale-out, proven with real processes: two daphnes, two Celery workers, one beat (then two), one Redis, one database.

Prices come from the real Yahoo provider (yfinance) against a fake Yahoo that
this test runs; its prices move on every request, so every tick changes
every quote and sends one message per open list.
"""

import asyncio
import json
import re
import subprocess
import time
import urllib.request

import pytest
import websockets
from django.test import Client

from tests.support.fake_yahoo import FakeYahoo
from tests.support.scrape import sample, samples_parse

from .stack import BIN, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOKEN = "scale-out-scrape-token"
POLL_SECONDS = 1
QUOTE_PATH = "/v7/finance/quote"
TICK_LINE = re.compile(r"Tick: kind=tick .*\bupstream_requests=(\d+)")


@pytest.fixture(scope="module")
def fake_yahoo_server():
    with FakeYahoo() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(make_stack, fake_yahoo_server):
    stack = make_stack(
        QUOTE_PROVIDER="yahoo",
        QUOTE_YAHOO_BASE_URL=fake_yahoo_server.base_url,
        QUOTE_POLL_SECONDS=str(POLL_SECONDS),
        METRICS_TOKEN=TOKEN,
        METRICS_FLUSH_SECONDS="0.5",
    )
    stack.web2_url = stack.add_web()
    stack.worker2 = stack.add_worker()
    return stack


@pytest.fixture
def viewer(make_user, make_watchlist):
    user = make_user("scaler")
    watchlist = make_watchlist(user, "Scaled", ["AAPL", "MSFT", "NVDA"])
    client = Client()
    client.force_login(user)
    return watchlist, f"sessionid={client.cookies['sessionid'].value}"


def ws_url(base_url: str, watchlist) -> str:
    return f"{base_url.replace('http://', 'ws://')}/ws/watchlists/{watchlist.pk}/"


def scrape(base_url: str) -> dict:
    request = urllib.request.Request(f"{base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return samples_parse(response.read().decode())


def quotes_key(message: dict) -> tuple:
    """What identifies one tick's message: every quote it carries, with the time it was fetched."""
    return tuple(sorted((q["symbol"], q["price"], q["fetched_at"]) for q in message["quotes"]))


async def _listen(url: str, origin: str, cookie: str, seconds: float, opened: asyncio.Event, received: list) -> None:
    async with websockets.connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10) as ws:
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert snapshot["type"] == "snapshot", snapshot
        opened.set()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), left))
            except TimeoutError:
                break
            if message["type"] == "quotes":
                received.append(quotes_key(message))


def worker_tick_lines(stack, since: dict[str, int]) -> dict[str, list[int]]:
    """Per worker, the upstream requests of each tick it ran since the given log offsets."""
    lines = {}
    for worker in (stack.worker, stack.worker2):
        text = worker.log_path.read_text(errors="replace")[since.get(worker.name, 0) :]
        lines[worker.name] = [int(match.group(1)) for match in TICK_LINE.finditer(text)]
    return lines


def requests_per_tick(ticks: dict[str, list[int]]) -> set[int]:
    return {requests for per_worker in ticks.values() for requests in per_worker}


def log_offsets(stack) -> dict[str, int]:
    return {worker.name: worker.log_size() for worker in (stack.worker, stack.worker2)}


def test_a_socket_on_each_web_process_hears_every_tick(stack, viewer):
    watchlist, cookie = viewer
    window = 8
    seen: dict[str, list] = {"web": [], "web2": []}
    since = log_offsets(stack)

    async def run() -> dict:
        opened = [asyncio.Event(), asyncio.Event()]
        listeners = [
            asyncio.create_task(_listen(ws_url(url, watchlist), url, cookie, window, event, seen[name]))
            for (name, url), event in zip({"web": stack.url, "web2": stack.web2_url}.items(), opened, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in opened)), 15)
        await asyncio.sleep(window / 2)
        # While both sockets are open: any web process reports both.
        scrapes = [await asyncio.to_thread(scrape, url) for url in (stack.url, stack.web2_url)]
        await asyncio.gather(*listeners)
        return scrapes

    scrapes = asyncio.run(run())

    first, second = seen["web"], seen["web2"]
    assert len(first) == len(set(first)) and len(second) == len(set(second)), "a tick was delivered twice"
    common = [key for key in first if key in set(second)]
    assert len(common) >= window - 3, f"only {len(common)} ticks reached both sockets: {len(first)} / {len(second)}"
    # The same ticks in the same order, save at most one at either edge of the window
    # (one socket opened or closed a moment before the other).
    start_a, start_b = first.index(common[0]), second.index(common[0])
    end_a, end_b = first.index(common[-1]), second.index(common[-1])
    assert first[start_a : end_a + 1] == second[start_b : end_b + 1]
    assert start_a + start_b <= 1 and (len(first) - 1 - end_a) + (len(second) - 1 - end_b) <= 1

    for samples in scrapes:
        assert sample(samples, "tickerwatch_sockets_open") == 2
        assert sample(samples, "tickerwatch_watchlists_active") == 1
        assert sample(samples, "tickerwatch_source_state", source="yahoo", state="ok") == 1

    # Each tick asked Yahoo once, whichever worker ran it.
    ticks = worker_tick_lines(stack, since)
    assert requests_per_tick(ticks) == {1}

    # The web processes' own counts (flushed every 0.5 s) add up in Redis: both scrapes show both.
    time.sleep(1.5)
    web, web2 = scrape(stack.url), scrape(stack.web2_url)
    delivered = sample(web, "tickerwatch_socket_messages_sent_total", type="quotes")
    assert delivered == sample(web2, "tickerwatch_socket_messages_sent_total", type="quotes")
    assert delivered >= len(first) + len(second)
    assert sample(web, "tickerwatch_socket_messages_sent_total", type="snapshot") >= 2


def _requests_over(stack, fake, seconds: float) -> tuple[int, dict[str, list[int]]]:
    since = log_offsets(stack)
    before = fake.count(QUOTE_PATH)
    time.sleep(seconds)
    return fake.count(QUOTE_PATH) - before, worker_tick_lines(stack, since)


def _kept_open(stack, watchlist, cookie, seconds: float):
    """Hold a socket open (the list stays active) while a blocking measurement runs."""

    async def hold():
        async with websockets.connect(
            ws_url(stack.url, watchlist), origin=stack.url, additional_headers={"Cookie": cookie}, open_timeout=10
        ) as ws:
            await asyncio.wait_for(ws.recv(), 10)  # snapshot
            await asyncio.sleep(seconds)

    return hold


def test_two_workers_and_a_second_beat_do_not_multiply_upstream_requests(stack, viewer, fake_yahoo_server):
    watchlist, cookie = viewer
    fake = fake_yahoo_server
    window = 6

    async def run() -> list:
        holder = asyncio.create_task(_kept_open(stack, watchlist, cookie, 3 * window + 10)())
        await asyncio.sleep(2)  # the on-connect refresh and the first ticks
        one_beat = await asyncio.to_thread(_requests_over, stack, fake, window)
        await asyncio.to_thread(stack.add_beat)
        await asyncio.sleep(2)
        since = await asyncio.to_thread(log_offsets, stack)
        two_beats = await asyncio.to_thread(_requests_over, stack, fake, 2 * window)
        skipped = sum(
            worker.log_path.read_text(errors="replace")[since[worker.name] :].count("Is a second celery beat running?")
            for worker in (stack.worker, stack.worker2)
        )
        holder.cancel()
        return [one_beat, two_beats, skipped]

    (requests_one, ticks_one), (requests_two, ticks_two), duplicate_skips = asyncio.run(run())

    # One beat, two workers: one request per tick, one tick per interval.
    assert requests_per_tick(ticks_one) == {1}
    assert window / POLL_SECONDS - 2 <= requests_one <= window / POLL_SECONDS + 1
    # A second beat sends as many ticks again; the tick window in Redis turns them away.
    assert duplicate_skips >= window / POLL_SECONDS, "the second beat's ticks did not reach the workers"
    assert requests_per_tick(ticks_two) == {1}
    assert 2 * window / POLL_SECONDS - 3 <= requests_two <= 2 * window / POLL_SECONDS + 1

    # Both workers took tick tasks from the queue over the module's half minute of ticks (which one
    # gets the next task comes in streaks, so not necessarily within one short window).
    for worker in (stack.worker, stack.worker2):
        log = worker.log_path.read_text(errors="replace")
        assert "Tick: kind=tick" in log or "Tick skipped" in log, f"{worker.name} ran no tick task"

    # /metrics agrees with what the fake Yahoo counted, whichever web process answers.
    for url in (stack.url, stack.web2_url):
        counted_before = fake.count(QUOTE_PATH)
        reported = sample(scrape(url), "tickerwatch_upstream_requests_total", source="yahoo")
        assert counted_before - 1 <= reported <= fake.count(QUOTE_PATH)
        skipped = sample(scrape(url), "tickerwatch_ticks_skipped_total", kind="tick", reason="duplicate")
        assert skipped >= duplicate_skips


def test_probes_on_every_process(stack):
    env = stack.env
    # Workers: celery's remote-control ping reaches both nodes.
    result = subprocess.run(
        [str(BIN / "celery"), "-A", "config", "inspect", "ping", "--timeout=5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"celery@\S+: OK", result.stdout), result.stdout
    assert re.search(r"worker2@\S+: OK", result.stdout), result.stdout
    assert "2 nodes online" in result.stdout

    # Web: the compose healthcheck's probe, on both daphnes.
    for url in (stack.url, stack.web2_url):
        probe = subprocess.run(
            [str(BIN / "python"), "-m", "config.probes", "web", "--url", f"{url}/readyz"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert probe.returncode == 0, probe.stdout
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            assert json.loads(response.read())["status"] == "ok"

    # Beat: its schedule file, written by the real beat through whichever dbm this Python has.
    def beat_probe(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "python"), "-m", "config.probes", "beat", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    healthy = beat_probe("--schedule", str(stack.beat_schedule()), "--max-age", "600")
    assert healthy.returncode == 0, healthy.stdout
    missing = beat_probe("--schedule", str(stack.dir / "no-such-schedule"))
    assert missing.returncode == 1 and "no beat schedule file" in missing.stdout
