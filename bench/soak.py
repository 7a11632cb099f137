"""Part 6, memory over time: sockets held with ticks for minutes; web and worker RSS sampled.

A flat line is the target: the slope (least squares over the samples, KiB
per minute) should be near zero, and the last samples near the first.
"""

from __future__ import annotations

import time

from bench.fanout import FanoutData, ticking_stack
from bench.procs import rss_kib


def _slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var if var else 0.0


def run(procs, data: FanoutData, *, clients: int, seconds: float, every: float, base_env, log_dir, layer) -> dict:
    with ticking_stack(procs, data, clients=clients, base_env=base_env, log_dir=log_dir, layer=layer) as running:
        stack, client_proc, connect = running
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
