"""Part 1, upstream economy: HTTP requests to (a fake) Yahoo per tick, counted at the HTTP layer.

The real stack runs with the Yahoo provider pointed at tests/support/fake_yahoo.py
in its own process; the fake counts every request by path. For each scenario
and socket count, sockets are opened on the scenario's lists, and after the
ticks settle the requests of N whole ticks are counted (the window opens and
closes right after a tick's log line, so no tick straddles it).

Beside ours, the two designs this one replaces, on the same scenario:
- per socket: every socket fetches its own list each tick (one batched
  request per 50 of its symbols); computed from the scenario.
- per watchlist through yfinance: a job per open list per tick, calling
  yfinance's public per-symbol API (`Ticker(s).fast_info["lastPrice"]`)
  for each of its symbols; requests per symbol are measured against the fake
  (cold and warm yfinance caches), the totals computed from the warm figure.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import time
import urllib.request
import warnings

from bench.data import ListAccess, disjoint_symbol_lists, lists_create, shared_symbol_lists
from bench.procs import Proc, free_port, wait_for_port
from bench.servers import PYTHON, Clients, OurStack

QUOTE_PATH = "/v7/finance/quote"
CHART_PATH = "/v8/finance/chart"
_TICK_LINE = re.compile(r"Tick: (kind=tick[^\n]*)")


class FakeYahooProcess:
    def __init__(self, procs, log_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = Proc(
            "fake-yahoo",
            [PYTHON, "-m", "tests.support.fake_yahoo", "--port", str(self.port)],
            env={"PYTHONUNBUFFERED": "1"},
            log_dir=log_dir,
        )
        self.procs = procs

    def start(self) -> FakeYahooProcess:
        self.procs.start(self.proc)
        wait_for_port(self.port, self.proc)
        return self

    def control(self, **changes) -> dict:
        request = urllib.request.Request(
            f"{self.url}/__control__",
            data=json.dumps(changes).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/__stats__", timeout=10) as response:
            return json.load(response)["counts"]


def _ticks(text: str) -> list[dict]:
    ticks = []
    for match in _TICK_LINE.finditer(text):
        fields = dict(pair.split("=", 1) for pair in match.group(1).split() if "=" in pair)
        ticks.append({key: int(value) if value.isdigit() else value for key, value in fields.items()})
    return ticks


def _wait_ticks(worker: Proc, *, since: int, count: int, timeout: float, active_lists: int | None = None) -> int:
    """Wait for `count` tick lines (with that many active lists) after byte `since`; returns the new offset."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = worker.log_text(since)
        matches = [m for m in _TICK_LINE.finditer(text)]
        good = [m for m in matches if active_lists is None or f"active_lists={active_lists} " in m.group(0) + " "]
        if len(good) >= count:
            return since + len(text[: good[count - 1].end()].encode())
        time.sleep(0.03)
    raise TimeoutError(f"fewer than {count} ticks within {timeout:.0f}s:\n{worker.tail()}")


def _targets(stack: OurStack, lists: list[ListAccess], sockets: int) -> list[dict]:
    return [
        {
            "url": f"{stack.url}/ws/watchlists/{lists[n % len(lists)].watchlist_id}/",
            "cookie": lists[n % len(lists)].cookie,
            "group": str(lists[n % len(lists)].watchlist_id),
        }
        for n in range(sockets)
    ]


def _count_window(stack: OurStack, fake: FakeYahooProcess, *, active: int, ticks: int) -> dict:
    """Requests of `ticks` whole ticks, with `active` lists open."""
    offset = _wait_ticks(stack.worker, since=stack.worker.log_size(), count=2, timeout=60, active_lists=active)
    fake.control(reset_counts=True)
    end = _wait_ticks(stack.worker, since=offset, count=ticks, timeout=ticks * 8 + 20)
    counts = fake.counts()
    logged = _ticks(stack.worker.log_text(offset)[: end - offset])
    return {"counts": counts, "ticks": logged}


def _designs(sockets: int, lists: list[ListAccess], per_symbol: float) -> dict:
    open_lists = lists[: min(sockets, len(lists))]
    per_socket = sum(math.ceil(len(lists[n % len(lists)].symbols) / 50) for n in range(sockets))
    per_watchlist = sum(len(access.symbols) for access in open_lists) * per_symbol
    return {"per_socket": per_socket, "per_watchlist_yfinance": round(per_watchlist, 1)}


def _yfinance_per_symbol(fake: FakeYahooProcess, symbols: list[str]) -> dict:
    """Requests yfinance's public per-symbol API makes per symbol, cold then warm caches (measured)."""
    import yfinance

    from prices.providers.yahoo import redirecting_session

    yfinance.set_tz_cache_location(tempfile.mkdtemp(prefix="bench-yf-"))
    session = redirecting_session(fake.url)
    figures = {}
    for label in ("cold", "warm"):
        fake.control(reset_counts=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecations inside yfinance
            for symbol in symbols:
                # A new Ticker per symbol per tick, as a job per watchlist per tick would do.
                yfinance.Ticker(symbol, session=session).fast_info["lastPrice"]
        counts = fake.counts()
        figures[label] = {
            "requests_per_symbol": round(sum(counts.values()) / len(symbols), 2),
            "chart_requests_per_symbol": round(counts.get(CHART_PATH, 0) / len(symbols), 2),
            "counts": counts,
        }
    figures["symbols_called"] = len(symbols)
    figures["method"] = (
        "measured: yfinance.Ticker(s).fast_info['lastPrice'] per symbol against the fake; "
        "totals = symbols on open lists x warm requests per symbol"
    )
    return figures


def run(procs, *, base_env: dict[str, str], log_dir, quick: bool, layer: str) -> dict:
    socket_counts = [1, 10, 50] if quick else [1, 100, 1000]
    ticks = 3 if quick else 10
    # Quick: 100 disjoint symbols (2 batches) fit a 1 s tick; the full run's 1000 (20
    # sequential batches from a Python fake on a busy 2-core machine) need a 3 s tick.
    per_list_disjoint = 10 if quick else 100
    poll_seconds = "1" if quick else "3"
    shared = lists_create(
        prefix="eco-shared-", symbol_lists=shared_symbol_lists(lists=10, per_list=9, pool=30, tag="ES")
    )
    disjoint = lists_create(
        prefix="eco-disjoint-", symbol_lists=disjoint_symbol_lists(lists=10, per_list=per_list_disjoint, tag="ED")
    )
    fake = FakeYahooProcess(procs, log_dir).start()
    yf_figures = _yfinance_per_symbol(fake, sorted({s for access in shared for s in access.symbols}))
    per_symbol = yf_figures["warm"]["requests_per_symbol"]

    stack = OurStack(
        procs,
        base_env=base_env,
        log_dir=log_dir,
        layer=layer,
        extra_env={
            "QUOTE_PROVIDER": "yahoo",
            "QUOTE_YAHOO_BASE_URL": fake.url,
            # The count per tick does not depend on the interval.
            "QUOTE_POLL_SECONDS": poll_seconds,
            "QUOTE_FETCH_TIMEOUT_SECONDS": "5",
            # Sockets of the previous step that were not closed cleanly stop counting sooner.
            "PRESENCE_TTL_SECONDS": "12",
            "PRESENCE_REFRESH_SECONDS": "4",
        },
    ).start()
    rows = []
    try:
        for scenario, lists in (("disjoint", disjoint), ("shared", shared)):
            for sockets in socket_counts:
                clients = Clients(
                    procs, targets=_targets(stack, lists, sockets), origin=stack.origin, log_dir=stack.dir
                )
                ready = clients.start(timeout=120)
                try:
                    active = min(sockets, len(lists))
                    window = _count_window(stack, fake, active=active, ticks=ticks)
                    rows.append(_row(scenario, "open", sockets, ready, window, lists, per_symbol))
                    if scenario == "shared" and sockets == socket_counts[-1]:
                        fake.control(
                            quotes={
                                symbol: {"price": 100.0, "previous_close": 99.0, "market_state": "CLOSED"}
                                for access in lists
                                for symbol in access.symbols
                            }
                        )
                        # The next tick stores CLOSED; the window starts after it.
                        _wait_ticks(stack.worker, since=stack.worker.log_size(), count=2, timeout=60)
                        window = _count_window(stack, fake, active=active, ticks=ticks)
                        rows.append(_row(scenario, "closed", sockets, ready, window, lists, per_symbol))
                finally:
                    clients.close()
    finally:
        stack.stop()
        procs.stop(fake.proc)
    return {"ticks_per_window": ticks, "yfinance_per_symbol": yf_figures, "rows": rows}


def _row(scenario, market, sockets, ready, window, lists, per_symbol) -> dict:
    counts, ticks = window["counts"], window["ticks"]
    n = max(1, len(ticks))
    due = [tick.get("due", 0) for tick in ticks]
    expected = sum(math.ceil(d / 50) for d in due)
    quote_requests = counts.get(QUOTE_PATH, 0)
    return {
        "scenario": scenario,
        "market": market,
        "sockets": sockets,
        "connected": ready["connected"],
        "active_lists": ticks[-1].get("active_lists") if ticks else None,
        "distinct_symbols": ticks[-1].get("symbols") if ticks else None,
        "ticks": len(ticks),
        "distinct_due_per_tick": round(sum(due) / n, 2),
        "ours_requests_per_tick": round(quote_requests / n, 3),
        "ours_all_http_per_tick": round(sum(counts.values()) / n, 3),
        "ours_expected_per_tick": round(expected / n, 3),
        "logged_upstream_requests_per_tick": round(sum(t.get("upstream_requests", 0) for t in ticks) / n, 3),
        "http_counts": counts,
        **_designs(sockets, lists, per_symbol),
    }
