"""Part 2-4, fan-out: C sockets on C/10 lists, one tick per second, every quote changing.

Ours: the real stack (simulated provider, QUOTE_POLL_SECONDS=1), C/10 users
with one list of 10 symbols each (drawn from a shared pool), 10 sockets per
list. References, fed the same payload by the same client process: the stock
Channels app (bench/stock) and the plain websockets server (bench/ceiling.py).

Per run: daphne RSS before and after connecting (ticks off: idle sockets),
then ticks on, a settle period, and a measured window: delivered messages
per second, loss, latency from publish to receipt, and CPU seconds of every
server process (daphne, worker, beat, Redis; or the references' processes).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from bench.data import lists_create, shared_symbol_lists
from bench.procs import CpuMeter, rss_kib
from bench.profile import record
from bench.servers import CeilingServer, Clients, OurStack, StockStack

SYMBOLS_PER_LIST = 10
SYMBOL_POOL = 200
WARMUP_SOCKETS = 10


class FanoutData:
    """Lists for the largest client count, created once; a run uses the first C/10."""

    def __init__(self, max_clients: int):
        self.lists = lists_create(
            prefix="fan-",
            symbol_lists=shared_symbol_lists(
                lists=max(1, max_clients // 10), per_list=SYMBOLS_PER_LIST, pool=SYMBOL_POOL, tag="F"
            ),
        )

    def targets(self, url: str, clients: int) -> list[dict]:
        lists = self.lists[: max(1, clients // 10)]
        return [
            {
                "url": f"{url}/ws/watchlists/{lists[n % len(lists)].watchlist_id}/",
                "cookie": lists[n % len(lists)].cookie,
                "group": str(lists[n % len(lists)].watchlist_id),
            }
            for n in range(clients)
        ]


def reference_payload(path: Path) -> dict:
    """A quotes message shaped and sized like ours (10 simulated quotes), for the references."""
    from django.utils import timezone

    from prices.providers.simulated import SimulatedProvider
    from prices.serializers import quote_payload
    from prices.services import _quote_from_data

    provider = SimulatedProvider(seed=42)
    symbols = [f"F{n:04d}" for n in range(SYMBOLS_PER_LIST)]
    provider.fetch(symbols)
    fetched = provider.fetch(symbols)
    now = timezone.now()
    quotes = [quote_payload(_quote_from_data(data, source="simulated", now=now)) for data in fetched.quotes]
    payload = {"type": "quotes", "watchlist": 1, "quotes": quotes, "published_at": 0}
    path.write_text(json.dumps(payload))
    return {"bytes": len(json.dumps(payload, separators=(",", ":")).encode())}


def _measure(server, clients: Clients, *, measure_seconds: float, profile: Path | None = None) -> dict:
    meter = CpuMeter(server.pids())
    clients.measure_start(measure_seconds)
    meter.start()
    spies = []
    if profile:
        spies.append(record(server.web.pid, measure_seconds, profile))
        if getattr(server, "worker", None) is not None:
            worker_profile = profile.with_name(profile.stem + "-worker.txt")
            spies.append(record(server.worker.pid, measure_seconds, worker_profile, subprocesses=True))
    time.sleep(measure_seconds)
    cpu = meter.stop()
    for spy in spies:
        if spy is not None:
            spy.wait(timeout=30)
    web_rss_end = rss_kib(server.web.pid)
    result = clients.measure_result(measure_seconds)
    delivered = result["messages_received"]
    total_cpu = sum(cpu.values())
    return {
        **{key: value for key, value in result.items() if key != "event"},
        "cpu_seconds": cpu,
        "cpu_seconds_total": round(total_cpu, 3),
        "cpu_ms_per_1000_messages": round(total_cpu / delivered * 1e6, 1) if delivered else None,
        "web_cpu_ms_per_1000_messages": round(cpu["web"] / delivered * 1e6, 1) if delivered else None,
        "cpu_window_seconds": round(meter.wall, 2),
        "web_rss_kib_end": web_rss_end,
        # The machine is shared: how busy it was, others' work included.
        "loadavg_1min_at_end": round(os.getloadavg()[0], 2),
        **({"profile": str(profile)} if profile else {}),
    }


def _connect(procs, server, targets, *, log_dir, warmup_targets, connect_timeout: float) -> tuple[Clients, dict]:
    # Warm the web process (imports, first connections) so RSS per socket is the sockets' own.
    warm = Clients(procs, targets=warmup_targets, origin=server.origin, log_dir=log_dir, name="warmup")
    warm.start(timeout=60)
    warm.close()
    time.sleep(1)
    rss_before = rss_kib(server.web.pid)
    clients = Clients(procs, targets=targets, origin=server.origin, log_dir=log_dir)
    ready = clients.start(timeout=connect_timeout)
    time.sleep(3)  # connect-time refreshes land; sockets are then idle
    rss_after = rss_kib(server.web.pid)
    connected = max(1, ready["connected"])
    return clients, {
        "connected": ready["connected"],
        "connect_failed": ready["failed"],
        "connect_failed_attempts": ready.get("failed_attempts", 0),
        "connect_errors": ready["errors"],
        "connect_seconds": ready["connect_seconds"],
        "web_rss_kib_before": rss_before,
        "web_rss_kib_idle": rss_after,
        "web_rss_kib_per_idle_socket": round((rss_after - rss_before) / connected, 1),
    }


@contextlib.contextmanager
def ticking_stack(
    procs,
    data: FanoutData,
    *,
    clients: int,
    base_env: dict[str, str],
    log_dir: Path,
    layer: str,
    server: str = "daphne",
) -> Iterator[tuple[OurStack, Clients, dict]]:
    """Our stack with `clients` sockets connected, then beat started: (stack, client process, connect figures)."""
    stack = OurStack(
        procs,
        base_env=base_env,
        log_dir=log_dir,
        layer=layer,
        server=server,
        extra_env={"QUOTE_PROVIDER": "simulated", "QUOTE_POLL_SECONDS": "1"},
    )
    stack.start(beat=False)
    client_proc = None
    try:
        client_proc, connect = _connect(
            procs,
            stack,
            data.targets(stack.url, clients),
            log_dir=stack.dir,
            warmup_targets=data.targets(stack.url, WARMUP_SOCKETS),
            connect_timeout=60 + clients / 20,
        )
        stack.start_beat()
        yield stack, client_proc, connect
    finally:
        if client_proc is not None:
            client_proc.close()
        stack.stop()


def run_ours(
    procs,
    data: FanoutData,
    *,
    clients: int,
    base_env: dict[str, str],
    log_dir: Path,
    layer: str,
    server: str = "daphne",
    settle: float,
    measure_seconds: float,
    profile: bool = False,
) -> dict:
    with ticking_stack(
        procs, data, clients=clients, base_env=base_env, log_dir=log_dir, layer=layer, server=server
    ) as (stack, client_proc, connect):
        time.sleep(settle)
        profile_path = log_dir.parent.parent / "profiles" / f"ours-{server}-{layer}-{clients}.txt" if profile else None
        measured = _measure(stack, client_proc, measure_seconds=measure_seconds, profile=profile_path)
        ticks = _tick_stats(stack)
        return {"server": f"ours ({server}, {layer})", "clients": clients, **connect, **measured, "ticks": ticks}


def _tick_stats(stack: OurStack) -> dict:
    from bench.economy import _ticks

    ticks = _ticks(stack.worker.log_text())
    if not ticks:
        return {}
    durations = sorted(tick.get("duration_ms", 0) for tick in ticks)
    return {
        "count": len(ticks),
        "duration_ms_p50": durations[len(durations) // 2],
        "duration_ms_max": durations[-1],
        "skipped_locked": stack.worker.log_text().count("Tick skipped"),
    }


def run_reference(
    procs,
    kind: str,
    *,
    clients: int,
    base_env: dict[str, str],
    log_dir: Path,
    payload_path: Path,
    settle: float,
    measure_seconds: float,
    profile: bool = False,
) -> dict:
    if kind == "stock":
        server = StockStack(procs, base_env=base_env, log_dir=log_dir, payload_path=payload_path)
        label = "stock Channels (daphne, core layer, send_json)"
    else:
        server = CeilingServer(procs, log_dir=log_dir, payload_path=payload_path)
        label = "ceiling (plain websockets broadcast)"
    server.start()
    targets = [{"url": f"{server.url}/ws/", "group": "all", "expect_first": False} for _ in range(clients)]
    warmup = targets[:WARMUP_SOCKETS]
    client_proc = None
    try:
        client_proc, connect = _connect(
            procs, server, targets, log_dir=server.dir, warmup_targets=warmup, connect_timeout=60 + clients / 20
        )
        server.start_ticks()
        time.sleep(settle)
        profile_path = log_dir.parent.parent / "profiles" / f"{kind}-{clients}.txt" if profile else None
        measured = _measure(server, client_proc, measure_seconds=measure_seconds, profile=profile_path)
        return {"server": label, "kind": kind, "clients": clients, **connect, **measured}
    finally:
        if client_proc is not None:
            client_proc.close()
        server.stop()
