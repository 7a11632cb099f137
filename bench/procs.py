"""Processes the benchmark and the end-to-end tests start, and what the benchmark reads of them from /proc.

Every process runs in its own session (process group) and is stopped by
killing that group, so a Celery worker's pool children go with it. The
`Processes` context manager stops everything it started, even on error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def celery_worker_argv(*, concurrency: int) -> list[str]:
    """A Celery worker as the Procfile runs it, quiet between nodes (no gossip, mingle or heartbeat)."""
    return [
        str(BIN / "celery"),
        "-A",
        "config",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def celery_beat_argv(*, schedule: Path) -> list[str]:
    return [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO", f"--schedule={schedule}"]


class Proc:
    """One subprocess in its own process group, output to a log file."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log_dir: Path, stdin=subprocess.DEVNULL):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.stdin = stdin
        self.popen: subprocess.Popen | None = None

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=self.stdin,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 15, sig: int = signal.SIGTERM) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        # Children that outlived their parent (a prefork pool) share its group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def kill(self) -> None:
        """As a crash would: no chance to clean up."""
        self.stop(sig=signal.SIGKILL)

    def log_text(self, since: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, text: str, *, since: int = 0, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            if text in self.log_text(since):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not log {text!r} within {timeout:.0f}s:\n{self.tail()}")


class Processes:
    """Starts processes and stops all of them (newest first) on exit, errors included."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []

    def start(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc.start()

    def stop(self, proc: Proc) -> None:
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                proc.stop()
        self.procs.clear()


def wait_for_port(port: int, proc: Proc | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.running:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(
        f"nothing listened on 127.0.0.1:{port} within {timeout:.0f}s" + (f":\n{proc.tail()}" if proc else "")
    )


# --- /proc readings ------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """pid and all its descendants (a Celery worker's pool processes)."""
    try:
        import psutil

        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except Exception:
        return [pid]


def cpu_seconds(pid: int, *, tree: bool = True) -> float:
    """User + system CPU seconds of a process (and its live descendants), from /proc/<pid>/stat."""
    total = 0.0
    for one in _children(pid) if tree else [pid]:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        # Fields 14 and 15 (utime, stime), counted from 1; [0] here is field 3.
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def rss_kib(pid: int, *, tree: bool = True) -> int:
    total = 0
    for one in _children(pid) if tree else [pid]:
        try:
            total += int(Path(f"/proc/{one}/statm").read_text().split()[1]) * PAGE_KIB
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def listening_pid(port: int) -> int | None:
    """The process listening on a loopback TCP port (to find Redis), or None."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid
    except Exception:
        return None
    return None


class CpuMeter:
    """CPU seconds of named processes between start() and stop()."""

    def __init__(self, pids: dict[str, int | None]):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.started: dict[str, float] = {}
        self.wall = 0.0

    def start(self) -> None:
        self.started = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, float]:
        self.wall = time.monotonic() - self._t0
        return {name: round(cpu_seconds(pid) - self.started[name], 3) for name, pid in self.pids.items()}


def machine() -> dict:
    import platform

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    versions = {}
    for package in ("django", "channels", "channels_redis", "daphne", "celery", "redis", "websockets", "yfinance"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package.replace("_", "-"))
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_total_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
        "versions": versions,
    }
