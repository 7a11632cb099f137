"""Container health checks, for docker compose and other orchestrators.

    python -m config.probes web [--url http://127.0.0.1:8000/readyz] [--timeout 5]
    python -m config.probes beat --schedule /app/var/celerybeat-schedule [--max-age 600]

web: the readiness endpoint answers 200 in time (urllib: the slim image has
no curl). beat: the beat schedule file was written recently. Celery beat
rewrites it after sending a task at most every 3 minutes (Celery's
Scheduler.sync_every), so a beat that has stopped sending ticks, or hangs,
leaves it to age; a dead beat process is noticed by the container runtime
itself. (Workers: `celery -A config inspect ping`.)

Exits 0 when healthy, 1 otherwise, printing one line that says why. Does not
import Django: a probe runs every few seconds and must be cheap.
"""

import argparse
import glob
import os
import sys
import time
import urllib.error
import urllib.request


def web_probe(*, url: str, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a URL the operator gives
            return response.status == 200, f"{url}: HTTP {response.status}"
    except urllib.error.HTTPError as error:
        body = error.read(500).decode("utf-8", "replace")
        return False, f"{url}: HTTP {error.code} {body}"
    except (OSError, ValueError) as error:
        return False, f"{url}: {type(error).__name__}: {error}"


def beat_probe(*, schedule: str, max_age: float, now: float | None = None) -> tuple[bool, str]:
    # The shelve behind the schedule is one file or several (.db, .dat/.dir/.bak) depending on the dbm module.
    paths = glob.glob(glob.escape(schedule)) + glob.glob(glob.escape(schedule) + ".*")
    if not paths:
        return False, f"no beat schedule file at {schedule} (beat not started, or another --schedule?)"
    newest = max(_mtime(path) for path in paths)
    age = (time.time() if now is None else now) - newest
    if age > max_age:
        return False, f"beat schedule {schedule} last written {age:.0f} s ago (limit {max_age:.0f} s): beat is stuck"
    return True, f"beat schedule written {age:.0f} s ago"


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.probes", description=__doc__.split("\n\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    web = kinds.add_parser("web", help="the readiness endpoint answers 200")
    web.add_argument("--url", default="http://127.0.0.1:8000/readyz")
    web.add_argument("--timeout", type=float, default=5.0)
    beat = kinds.add_parser("beat", help="the beat schedule file is recent")
    beat.add_argument("--schedule", required=True)
    beat.add_argument("--max-age", type=float, default=600.0)
    args = parser.parse_args(argv)
    if args.kind == "web":
        healthy, detail = web_probe(url=args.url, timeout=args.timeout)
    else:
        healthy, detail = beat_probe(schedule=args.schedule, max_age=args.max_age)
    print(("healthy: " if healthy else "unhealthy: ") + detail)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
