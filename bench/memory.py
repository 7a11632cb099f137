"""Where the web process's memory goes: tracemalloc growth by source line.

    python -m bench.memory [--clients 1000] [--layer pubsub]   (REDIS_URL set; `make bench` style env)
    python -m bench.memory --clients 300 --ticking 300          # growth while ticking, after a warm-up

Starts daphne on bench/traced_asgi.py. Idle sockets (the default: no worker
or beat): opens the sockets and prints RSS per socket and the top
allocation sites. `--ticking N`: with the sockets open, starts beat, lets a
minute of ticks pass, then prints what grew over the next N seconds: a
steady state that leaks shows here by source line. (tracemalloc's own
bookkeeping swells RSS meanwhile; read the traced figures, not RSS.)
"""

from __future__ import annotations

import argparse
import os
import signal
import time

from bench.procs import Processes, rss_kib


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--layer", default="pubsub")
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--ticking", type=float, default=0, help="seconds of ticks to measure growth over")
    args = parser.parse_args()

    from bench.data import BENCH_DIR
    from bench.run import _environment, _raise_file_limit

    _raise_file_limit()
    out = BENCH_DIR / "memory"
    env = _environment(out)
    os.environ.update(env)
    import django

    django.setup()
    from bench import data
    from bench.fanout import WARMUP_SOCKETS, FanoutData
    from bench.servers import Clients, OurStack

    data.database_migrate()
    fan = FanoutData(args.clients)
    report = out / "tracemalloc.txt"
    report.unlink(missing_ok=True)
    with Processes() as procs:
        stack = OurStack(
            procs,
            base_env={**env, "BENCH_TRACEMALLOC_OUT": str(report), "BENCH_TRACEMALLOC_FRAMES": str(args.frames)},
            log_dir=out / "logs",
            layer=args.layer,
        )
        stack.web.argv[-1] = "bench.traced_asgi:application"
        stack.start(beat=False)
        warm = Clients(procs, targets=fan.targets(stack.url, WARMUP_SOCKETS), origin=stack.origin, log_dir=stack.dir)
        warm.start(timeout=60)
        warm.close()
        time.sleep(1)
        os.kill(stack.web.pid, signal.SIGUSR2)
        time.sleep(2)
        before = rss_kib(stack.web.pid)
        clients = Clients(procs, targets=fan.targets(stack.url, args.clients), origin=stack.origin, log_dir=stack.dir)
        ready = clients.start(timeout=600)
        time.sleep(3)
        after = rss_kib(stack.web.pid)
        if args.ticking:
            stack.start_beat()
            time.sleep(60)
            os.kill(stack.web.pid, signal.SIGUSR2)  # a new baseline, a minute into ticking
            _wait_for(report)
            report.unlink()
            time.sleep(args.ticking)
        os.kill(stack.web.pid, signal.SIGUSR2)
        _wait_for(report)
        per_socket = (after - before) / max(1, ready["connected"])
        print(f"connected {ready['connected']}: RSS {before} -> {after} KiB, {per_socket:.1f} KiB/socket")
        if args.ticking:
            print(f"traced growth over {args.ticking:.0f} s of ticks, after a minute of them:")
        print(report.read_text())
        clients.close()


def _wait_for(report) -> None:
    deadline = time.monotonic() + 120
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)  # written in one go, but give it time to finish


if __name__ == "__main__":
    main()
