"""Tickerwatch's ASGI application under tracemalloc, for finding per-socket memory (bench/memory.py).

SIGUSR2 the first time keeps a baseline snapshot; the next writes the
allocations grown since then, by source line, to $BENCH_TRACEMALLOC_OUT and
takes that snapshot as the new baseline.
"""

import os
import signal
import tracemalloc

tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "1")))

from config.asgi import application  # noqa: E402

__all__ = ["application"]
_baseline: list = []


def _dump(*_args) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    if not _baseline:
        _baseline.append(snapshot)
        return
    key = "traceback" if tracemalloc.get_traceback_limit() > 1 else "lineno"
    stats = snapshot.compare_to(_baseline[0], key)
    _baseline[0] = snapshot
    total = sum(stat.size_diff for stat in stats)
    lines = [f"total growth {total / 1024:.0f} KiB"]
    for stat in stats[:60]:
        frames = " <- ".join(
            f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno}" for frame in reversed(stat.traceback)
        )
        lines.append(f"{stat.size_diff / 1024:10.1f} KiB {stat.count_diff:8d} blocks  {frames}")
    with open(os.environ["BENCH_TRACEMALLOC_OUT"], "w") as out:
        out.write("\n".join(lines) + "\n")


signal.signal(signal.SIGUSR2, _dump)
