"""py-spy profiles of a server during a measured window, and a plain-text summary of them.

    python -m bench.profile var/bench/profiles/<file>.txt   # summarise a raw profile

`record()` starts `py-spy record --format raw` (collapsed stacks) on a process
for a number of seconds; `summary()` lists the functions with the most
samples, by their own time and including what they call.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.procs import BIN

_LINE_NO = re.compile(r":\d+\)$")


def record(pid: int, seconds: float, path: Path, *, subprocesses: bool = False) -> subprocess.Popen | None:
    py_spy = BIN / "py-spy"
    if not py_spy.exists():
        print("   (py-spy is not installed in the venv: no profile)", flush=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200"]
        + ["--format", "raw", "--nonblocking", "--output", str(path)]
        + (["--subprocesses"] if subprocesses else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _frame(frame: str) -> str:
    frame = _LINE_NO.sub(")", frame.strip())
    return frame.replace(str(Path(sys.prefix)) + "/lib/python3.11/site-packages/", "").replace(
        str(Path(__file__).resolve().parent.parent) + "/", ""
    )


def summary(path: Path, top: int = 30) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_frame(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "own time:"]
    lines += [f"{100 * n / total:6.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "including callees:"]
    lines += [f"{100 * n / total:6.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(Path(sys.argv[1]), top=int(sys.argv[2]) if len(sys.argv) > 2 else 30))
