"""The servers measured: Tickerwatch's real stack, the stock Channels baseline and the plain ceiling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.procs import (
    BIN,
    Proc,
    Processes,
    celery_beat_argv,
    celery_worker_argv,
    free_port,
    listening_pid,
    wait_for_port,
)

PYTHON = sys.executable


def _redis_port(redis_url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(redis_url).port or 6379


class OurStack:
    """daphne (or uvicorn), a Celery worker and beat, on this run's database and Redis."""

    def __init__(
        self,
        procs: Processes,
        *,
        base_env: dict[str, str],
        log_dir: Path,
        layer: str = "core",
        server: str = "daphne",
        extra_env: dict[str, str] | None = None,
    ):
        self.procs = procs
        self.prefix = f"twbench-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.origin = f"http://127.0.0.1:{self.port}"
        self.dir = log_dir / self.prefix
        self.dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **base_env,
            # A prefix per stack: presence, locks and groups of one run never leak into the next.
            "REDIS_KEY_PREFIX": self.prefix,
            "CHANNEL_LAYER_BACKEND": layer,
            "QUOTE_POLL_SECONDS": base_env.get("QUOTE_POLL_SECONDS", "1"),
            **(extra_env or {}),
        }
        self.layer, self.server = layer, server
        if server == "daphne":
            web_argv = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"]
        elif server == "uvicorn":
            web_argv = [
                str(BIN / "uvicorn"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--ws-per-message-deflate",
                "false",
                "config.asgi:application",
            ]
        else:
            raise ValueError(server)
        self.web = Proc("web", web_argv, env=self.env, log_dir=self.dir)
        self.worker = Proc(
            "worker",
            # One pool process: the simulated market then moves every quote on every tick.
            celery_worker_argv(concurrency=1),
            env=self.env,
            log_dir=self.dir,
        )
        self.beat = Proc(
            "beat",
            celery_beat_argv(schedule=self.dir / "beat-schedule"),
            env=self.env,
            log_dir=self.dir,
        )

    def start(self, *, beat: bool = True) -> OurStack:
        self.procs.start(self.web)
        self.procs.start(self.worker)
        wait_for_port(self.port, self.web, timeout=60)
        self.worker.wait_for_log("ready.", timeout=60)
        if beat:
            self.start_beat()
        return self

    def start_beat(self) -> None:
        self.procs.start(self.beat)
        self.beat.wait_for_log("beat: Starting", timeout=60)

    def pids(self) -> dict[str, int | None]:
        return {
            "web": self.web.pid,
            "worker": self.worker.pid,
            "beat": self.beat.pid if self.beat.running else None,
            "redis": listening_pid(_redis_port(self.env["REDIS_URL"])),
        }

    def stop(self) -> None:
        for proc in (self.beat, self.worker, self.web):
            self.procs.stop(proc)


class StockStack:
    """The stock baseline (bench/stock) under daphne, and its publisher."""

    def __init__(self, procs: Processes, *, base_env: dict[str, str], log_dir: Path, payload_path: Path):
        self.procs = procs
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.origin = f"http://127.0.0.1:{self.port}"
        self.dir = log_dir / f"stock-{uuid.uuid4().hex[:8]}"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "REDIS_URL": base_env["REDIS_URL"],
            "DJANGO_SETTINGS_MODULE": "bench.stock.settings",
            "STOCK_PREFIX": f"twbench-stock-{uuid.uuid4().hex[:8]}.",
            "PYTHONUNBUFFERED": "1",
        }
        self.web = Proc(
            "web",
            [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "bench.stock.asgi:application"],
            env=self.env,
            log_dir=self.dir,
        )
        self.publisher = Proc(
            "publisher", [PYTHON, "-m", "bench.stock.publisher", str(payload_path)], env=self.env, log_dir=self.dir
        )

    def start(self) -> StockStack:
        self.procs.start(self.web)
        wait_for_port(self.port, self.web, timeout=60)
        return self

    def start_ticks(self) -> None:
        self.procs.start(self.publisher)
        self.publisher.wait_for_log("publisher started", timeout=60)

    def pids(self) -> dict[str, int | None]:
        return {
            "web": self.web.pid,
            "publisher": self.publisher.pid if self.publisher.running else None,
            "redis": listening_pid(_redis_port(self.env["REDIS_URL"])),
        }

    def stop(self) -> None:
        for proc in (self.publisher, self.web):
            self.procs.stop(proc)


class CeilingServer:
    """The plain websockets broadcast server (bench/ceiling.py); ticks start on SIGUSR1."""

    def __init__(self, procs: Processes, *, log_dir: Path, payload_path: Path):
        self.procs = procs
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.origin = f"http://127.0.0.1:{self.port}"
        self.dir = log_dir / f"ceiling-{uuid.uuid4().hex[:8]}"
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}
        self.web = Proc(
            "web",
            [PYTHON, "-m", "bench.ceiling", "--port", str(self.port), "--payload", str(payload_path)],
            env=env,
            log_dir=self.dir,
        )

    def start(self) -> CeilingServer:
        self.procs.start(self.web)
        wait_for_port(self.port, self.web, timeout=30)
        return self

    def start_ticks(self) -> None:
        os.kill(self.web.pid, signal.SIGUSR1)

    def pids(self) -> dict[str, int | None]:
        return {"web": self.web.pid}

    def stop(self) -> None:
        self.procs.stop(self.web)


class Clients:
    """The client process (bench/clients.py) driven over its stdin/stdout."""

    def __init__(self, procs: Processes, *, targets: list[dict], origin: str, log_dir: Path, name: str = "clients"):
        self.procs = procs
        log_dir.mkdir(parents=True, exist_ok=True)
        self.spec_path = log_dir / f"{name}-{uuid.uuid4().hex[:6]}.json"
        self.spec_path.write_text(
            json.dumps({"targets": targets, "origin": origin, "connect_concurrency": 100, "connect_timeout": 60})
        )
        self.proc = Proc(
            name,
            [PYTHON, "-m", "bench.clients", str(self.spec_path)],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            log_dir=log_dir,
            stdin=subprocess.PIPE,
        )
        self._stdout: subprocess.Popen | None = None

    def start(self, *, timeout: float) -> dict:
        # stdout is a pipe we read; the log file keeps stderr.
        self.procs.procs.append(self.proc)
        log = self.proc.log_path.open("ab")
        self.proc.popen = subprocess.Popen(
            self.proc.argv,
            cwd=Path(__file__).resolve().parent.parent,
            env=self.proc.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
            text=True,
        )
        log.close()
        return self._read("ready", timeout)

    def _read(self, event: str, timeout: float) -> dict:
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(self.proc.popen.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not selector.select(timeout=min(1.0, max(0.0, deadline - time.monotonic()))):
                    if not self.proc.running:
                        raise RuntimeError(f"clients exited:\n{self.proc.tail()}")
                    continue
                line = self.proc.popen.stdout.readline()
                if not line:
                    raise RuntimeError(f"clients exited:\n{self.proc.tail()}")
                message = json.loads(line)
                if message.get("event") == event:
                    return message
        finally:
            selector.close()
        raise TimeoutError(f"clients did not report {event!r} within {timeout:.0f}s:\n{self.proc.tail()}")

    def measure_start(self, seconds: float) -> None:
        self.proc.popen.stdin.write(f"measure {seconds}\n")
        self.proc.popen.stdin.flush()

    def measure_result(self, seconds: float) -> dict:
        return self._read("result", seconds + 60)

    def close(self) -> None:
        if self.proc.running:
            try:
                self.proc.popen.stdin.write("close\n")
                self.proc.popen.stdin.flush()
                self.proc.popen.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.procs.stop(self.proc)
