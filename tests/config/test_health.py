"""/healthz and /readyz against the real database and Redis, and against dead or silent addresses."""

import asyncio
import json
import logging
import socket
import time

import pytest
from django.test import AsyncClient, Client
from redis.exceptions import ConnectionError as RedisConnectionError

from config.health import database_check, readiness_get, redis_check

# The tests that take the database away do it by overriding DATABASES on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES:UserWarning")


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A port that accepts connections (the kernel's backlog) and never answers: a hung server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def _dead_database(settings, port: int) -> None:
    database = dict(settings.DATABASES["default"])
    if database["ENGINE"].endswith("sqlite3"):
        # SQLite has no server to lose: a file in a directory that does not exist cannot be opened.
        database["NAME"] = "/nonexistent-dir/tickerwatch.sqlite3"
    else:
        database.update(HOST="127.0.0.1", PORT=str(port))
    settings.DATABASES = {**settings.DATABASES, "default": database}


def test_healthz_answers_without_database_or_redis(settings, closed_port):
    # No db fixture: pytest-django fails any database access. Redis points nowhere.
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_probes_skip_host_validation_and_the_https_redirect(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["tickerwatch.example"]
    client = Client(HTTP_HOST="10.1.2.3:8000")  # a container's IP, as a kubelet or compose probe sends
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    # Everything else still gets both protections.
    assert client.get("/accounts/login/").status_code == 400
    assert Client(HTTP_HOST="tickerwatch.example").get("/accounts/login/").status_code == 301


def test_readyz_is_ok_when_database_and_redis_answer(db):
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert response["Cache-Control"] == "no-store"


def test_readyz_names_redis_when_it_is_unreachable(db, settings, closed_port, caplog):
    caplog.set_level(logging.WARNING, logger="config.health")
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "unavailable"
    assert body["failed"] == ["redis"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError", "ms": body["checks"]["redis"]["ms"]}
    # The address is for the operator's log, not for the anonymous answer.
    assert str(closed_port) not in response.content.decode()
    assert f"127.0.0.1:{closed_port}" in caplog.text


def test_readyz_names_the_database_when_it_is_unreachable(db, settings, closed_port):
    _dead_database(settings, closed_port)
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database"]
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["database"]["error"] == "OperationalError"


def test_readyz_names_both_when_both_are_down(db, settings, closed_port):
    _dead_database(settings, closed_port)
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database", "redis"]


def test_a_silent_redis_is_reported_within_the_time_bound(db, settings, silent_port):
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    settings.REDIS_URL = f"redis://127.0.0.1:{silent_port}/0"
    started = time.monotonic()
    response = Client().get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["error"] == "timeout"
    assert elapsed < 2, f"readyz took {elapsed:.1f}s with a 0.5s bound"


@pytest.mark.django_db
def test_a_silent_database_is_reported_within_the_time_bound(settings, silent_port):
    # A PostgreSQL server that accepts the connection and never answers,
    # whichever database this suite otherwise runs on.
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "tickerwatch",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": str(silent_port),
        },
    }
    started = time.monotonic()
    body = asyncio.run(readiness_get(timeout=0.5))
    assert time.monotonic() - started < 1.5
    assert body["failed"] == ["database"]
    assert body["checks"]["database"]["error"] == "timeout"


async def test_readyz_through_the_async_stack(settings, closed_port, db):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    response = await AsyncClient().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]
    assert (await AsyncClient().get("/healthz")).status_code == 200


async def test_check_functions_against_dead_addresses(settings, closed_port, db):
    with pytest.raises(RedisConnectionError):
        await redis_check(url=f"redis://127.0.0.1:{closed_port}/0", timeout=1)
    await redis_check(url=settings.REDIS_URL, timeout=1)
    dead = {**settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": str(closed_port)}
    if dead["ENGINE"].endswith("sqlite3"):
        dead["NAME"] = "/nonexistent-dir/x.sqlite3"
    with pytest.raises(Exception, match=r"(?i)connect|unable to open"):
        await database_check(settings_dict=dead, timeout=1)
    await database_check(settings_dict=settings.DATABASES["default"], timeout=1)
