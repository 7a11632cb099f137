"""The real processes of a deployment, started for end-to-end tests.

daphne on a free port, a Celery worker and Celery beat, all against the test
database and Redis, each with its own log file under var/e2e/<prefix>/.
Processes can be stopped, killed and started again, as in an outage.
"""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.procs import BIN, ROOT, Proc, celery_beat_argv, celery_worker_argv, free_port


class Stack:
    def __init__(self, *, database_url: str, redis_url: str, prefix: str, extra_env: dict[str, str] | None = None):
        self.prefix = prefix
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = ROOT / "var" / "e2e" / prefix
        self.dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DEBUG": "1",
            # The test's own key, so sessions it creates are valid in the stack.
            "SECRET_KEY": os.environ.get("SECRET_KEY", "e2e-tests-only"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # Not the test run's prefix: the run wipes its own keys between tests.
            "REDIS_KEY_PREFIX": prefix,
            "QUOTE_PROVIDER": "simulated",
            "QUOTE_POLL_SECONDS": "1",
            "QUOTE_STALE_SECONDS": "4",
            "QUOTE_STATUS_HEARTBEAT_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        env.pop("DATABASE_TEST_NAME", None)
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.env = env
        # Processes beside the first web, worker and beat (add_web, add_worker, add_beat).
        self.extras: list[Proc] = []
        self.web = Proc(
            "web",
            [
                str(BIN / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "--ping-interval",
                env.get("WS_PING_INTERVAL", "20"),
                "--ping-timeout",
                env.get("WS_PING_TIMEOUT", "30"),
                "config.asgi:application",
            ],
            env=env,
            log_dir=self.dir,
        )
        self.worker = Proc(
            "worker",
            celery_worker_argv(concurrency=2),
            env=env,
            log_dir=self.dir,
        )
        self.beat = Proc(
            "beat",
            celery_beat_argv(schedule=self.dir / "beat-schedule"),
            env=env,
            log_dir=self.dir,
        )

    def start(self) -> "Stack":
        self.start_web()
        self.start_worker()
        self.beat.start()
        self.beat.wait_for_log("beat: Starting")
        return self

    def start_web(self) -> None:
        self.web.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not self.web.running:
                raise RuntimeError(f"daphne exited:\n{self.web.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"daphne did not answer within 30s:\n{self.web.tail()}")

    def start_worker(self) -> None:
        since = self.worker.log_size()
        self.worker.start()
        self.worker.wait_for_log("ready.", since=since)

    def manage(self, *args: str, extra_env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def stop(self) -> None:
        for process in (*reversed(self.extras), self.beat, self.worker, self.web):
            process.stop()

    def logs(self) -> str:
        processes = (self.web, self.worker, self.beat, *self.extras)
        return "\n".join(f"--- {p.name} ---\n{p.tail()}" for p in processes)

    # --- scale-out: more processes beside the first web, worker and beat -----

    def add_web(self) -> str:
        """Another daphne on a port of its own, same database and Redis; returns its base URL."""
        port = free_port()
        argv = list(self.web.argv)
        argv[argv.index("-p") + 1] = str(port)
        web = Proc(f"web{sum(p.name.startswith('web') for p in self.extras) + 2}", argv, env=self.env, log_dir=self.dir)
        self.extras.append(web)
        url = f"http://127.0.0.1:{port}"
        web.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not web.running:
                raise RuntimeError(f"{web.name} exited:\n{web.tail()}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return url
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"{web.name} did not answer within 30s:\n{web.tail()}")

    def add_worker(self) -> Proc:
        """Another Celery worker, with a node name of its own (two on one host must differ for inspect ping)."""
        name = f"worker{sum(p.name.startswith('worker') for p in self.extras) + 2}"
        worker = Proc(name, [*self.worker.argv, f"--hostname={name}@%h"], env=self.env, log_dir=self.dir)
        self.extras.append(worker)
        worker.start()
        worker.wait_for_log("ready.")
        return worker

    def add_beat(self) -> Proc:
        """A second beat, as an operator might start by mistake, with its own schedule file."""
        name = f"beat{sum(p.name.startswith('beat') for p in self.extras) + 2}"
        beat = Proc(name, celery_beat_argv(schedule=self.dir / f"{name}-schedule"), env=self.env, log_dir=self.dir)
        self.extras.append(beat)
        beat.start()
        beat.wait_for_log("beat: Starting")
        return beat

    def beat_schedule(self) -> Path:
        """The first beat's schedule file (a shelve: one or more files starting with this path)."""
        return self.dir / "beat-schedule"
