"""LOG_FORMAT=json: one JSON object per line, extra fields included."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from config.log_format import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


def record(message: str, *args, **extra) -> logging.LogRecord:
    logger = logging.getLogger("tickerwatch.test")
    return logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, args, None, extra=extra)


def test_a_line_carries_time_level_logger_message_and_extras():
    line = JsonFormatter().format(record("Tick: %s", "kind=tick", tick={"symbols": 5}, request_id="r1"))
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "tickerwatch.test"
    assert entry["message"] == "Tick: kind=tick"
    assert entry["tick"] == {"symbols": 5}
    assert entry["request_id"] == "r1"
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    assert "args" not in entry and "msg" not in entry and "levelno" not in entry


def test_multi_line_messages_and_tracebacks_stay_on_one_line():
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        logger = logging.getLogger("tickerwatch.test")
        item = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "two\nlines", (), sys.exc_info())
    line = JsonFormatter().format(item)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "two\nlines"
    assert "ValueError: bad" in entry["exc_info"]


def test_extras_that_are_not_json_are_logged_as_text():
    entry = json.loads(JsonFormatter().format(record("x", thing=object(), path=Path("/tmp"))))
    assert entry["thing"].startswith("<object object")
    assert entry["path"] == "/tmp"


def _django(code: str, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_setting_switches_a_real_process_to_json_lines():
    code = "import logging; logging.getLogger('watchlists.live').warning('hello %s', 'there', extra={'tick': {'a': 1}})"
    result = _django(code, LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "hello" in line]
    entry = json.loads(line)
    assert entry["message"] == "hello there" and entry["tick"] == {"a": 1}

    result = _django(code, LOG_FORMAT="plain")
    [line] = [line for line in result.stderr.splitlines() if "hello" in line]
    assert line.endswith("WARNING watchlists.live: hello there")


def test_an_unknown_format_refuses_to_start():
    result = _django("pass", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT='xml'" in result.stderr
