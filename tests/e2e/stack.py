"""The real processes of a deployment, started for end-to-end tests.

daphne on a free port, a Celery worker and Celery beat, all against the test
database and Redis, each with its own log file under var/e2e/<prefix>/.
Processes can be stopped, killed and started again, as in an outage.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if not self.running:
            return
        # The whole group: a prefork worker's children go with it.
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_for_log(self, text: str, *, since: int = 0, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.log_path.exists() and text in self.log_path.read_text(errors="replace")[since:]:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not log {text!r} within {timeout:.0f}s:\n{self.log_tail()}")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0


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
        self.extras: list[Process] = []
        self.web = Process(
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
            env,
            self.dir,
        )
        self.worker = Process(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env,
            self.dir,
        )
        self.beat = Process(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.dir / 'beat-schedule'}",
            ],
            env,
            self.dir,
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
                raise RuntimeError(f"daphne exited:\n{self.web.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"daphne did not answer within 30s:\n{self.web.log_tail()}")

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
        return "\n".join(f"--- {p.name} ---\n{p.log_tail()}" for p in processes)

    # --- scale-out: more processes beside the first web, worker and beat -----

    def add_web(self) -> str:
        """Another daphne on a port of its own, same database and Redis; returns its base URL."""
        port = free_port()
        argv = list(self.web.argv)
        argv[argv.index("-p") + 1] = str(port)
        web = Process(f"web{sum(p.name.startswith('web') for p in self.extras) + 2}", argv, self.env, self.dir)
        self.extras.append(web)
        url = f"http://127.0.0.1:{port}"
        web.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not web.running:
                raise RuntimeError(f"{web.name} exited:\n{web.log_tail()}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return url
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"{web.name} did not answer within 30s:\n{web.log_tail()}")

    def add_worker(self) -> Process:
        """Another Celery worker, with a node name of its own (two on one host must differ for inspect ping)."""
        name = f"worker{sum(p.name.startswith('worker') for p in self.extras) + 2}"
        worker = Process(name, [*self.worker.argv, f"--hostname={name}@%h"], self.env, self.dir)
        self.extras.append(worker)
        worker.start()
        worker.wait_for_log("ready.")
        return worker

    def add_beat(self) -> Process:
        """A second beat, as an operator might start by mistake, with its own schedule file."""
        name = f"beat{sum(p.name.startswith('beat') for p in self.extras) + 2}"
        argv = [arg for arg in self.beat.argv if not arg.startswith("--schedule=")]
        beat = Process(name, [*argv, f"--schedule={self.dir / (name + '-schedule')}"], self.env, self.dir)
        self.extras.append(beat)
        beat.start()
        beat.wait_for_log("beat: Starting")
        return beat

    def beat_schedule(self) -> Path:
        """The first beat's schedule file (a shelve: one or more files starting with this path)."""
        return self.dir / "beat-schedule"
