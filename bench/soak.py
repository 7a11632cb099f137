"""Part 6, memory over time: sockets held with ticks for minutes; web and worker RSS sampled.

A flat line is the target: the slope (least squares over the samples, KiB
per minute) should be near zero, and the last samples near the first.
"""

from __future__ import annotations

import time

from bench.fanout import WARMUP_SOCKETS, FanoutData, _connect
from bench.procs import rss_kib
from bench.servers import OurStack


def _slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var if var else 0.0


def run(procs, data: FanoutData, *, clients: int, seconds: float, every: float, base_env, log_dir, layer) -> dict:
    stack = OurStack(
        procs,
        base_env=base_env,
        log_dir=log_dir,
        layer=layer,
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
        time.sleep(5)
        samples = []
        client_proc.measure_start(seconds)
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            samples.append(
                {
                    "t": round(elapsed, 1),
                    "web_kib": rss_kib(stack.web.pid),
                    "worker_kib": rss_kib(stack.worker.pid),
                }
            )
            if elapsed >= seconds:
                break
            time.sleep(min(every, max(0.0, seconds - elapsed)))
        result = client_proc.measure_result(seconds)
        web = [(s["t"] / 60, s["web_kib"]) for s in samples]
        worker = [(s["t"] / 60, s["worker_kib"]) for s in samples]
        return {
            "clients": clients,
            "seconds": seconds,
            "layer": layer,
            **connect,
            "samples": samples,
            "web_kib_start": samples[0]["web_kib"],
            "web_kib_end": samples[-1]["web_kib"],
            "web_slope_kib_per_min": round(_slope(web), 1),
            "worker_kib_start": samples[0]["worker_kib"],
            "worker_kib_end": samples[-1]["worker_kib"],
            "worker_slope_kib_per_min": round(_slope(worker), 1),
            "lost": result["lost"],
            "expected_in_window": result["expected_in_window"],
            "latency_ms": result["latency_ms"],
            "messages_per_second": result["messages_per_second"],
        }
    finally:
        if client_proc is not None:
            client_proc.close()
        stack.stop()
