"""The container probes docker compose runs (python -m config.probes)."""

import os
import time

from config.probes import beat_probe, main, web_probe


def test_a_recent_schedule_is_healthy_and_an_old_one_is_not(tmp_path):
    schedule = tmp_path / "celerybeat-schedule"
    for suffix in (".dat", ".dir", ".bak"):  # dbm.dumb's files; other dbm modules write one file
        (tmp_path / f"celerybeat-schedule{suffix}").write_bytes(b"x")
    healthy, detail = beat_probe(schedule=str(schedule), max_age=600)
    assert healthy, detail

    old = time.time() - 3600
    for path in tmp_path.iterdir():
        os.utime(path, (old, old))
    healthy, detail = beat_probe(schedule=str(schedule), max_age=600)
    assert not healthy
    assert "3600 s ago" in detail and "beat is stuck" in detail


def test_a_single_file_schedule_counts_too(tmp_path):
    (tmp_path / "celerybeat-schedule").write_bytes(b"x")
    assert beat_probe(schedule=str(tmp_path / "celerybeat-schedule"), max_age=60)[0]


def test_no_schedule_file_is_unhealthy(tmp_path, capsys):
    assert main(["beat", "--schedule", str(tmp_path / "nothing")]) == 1
    assert capsys.readouterr().out.startswith("unhealthy: no beat schedule file")


def test_the_web_probe_follows_readyz(live_server, settings):
    healthy, detail = web_probe(url=f"{live_server.url}/readyz", timeout=5)
    assert healthy, detail
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    healthy, detail = web_probe(url=f"{live_server.url}/readyz", timeout=5)
    assert not healthy
    assert "HTTP 503" in detail and '"failed": ["redis"]' in detail


def test_the_web_probe_reports_a_dead_address():
    healthy, detail = web_probe(url="http://127.0.0.1:1/readyz", timeout=2)
    assert not healthy and "Connection refused" in detail
