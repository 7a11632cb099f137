"""The circuit breaker and backoff in Redis, shared by all workers."""

import time

import pytest

from config.redis_client import redis_key, redis_sync
from prices.providers import FailureKind, FetchFailure
from prices.source_health import (
    source_fetch_permitted,
    source_health_get,
    source_record_failure,
    source_record_success,
)

SOURCE = "yahoo"


def fail(kind=FailureKind.TIMEOUT):
    return source_record_failure(source=SOURCE, failure=FetchFailure(kind=kind, detail="test"))


def test_a_fresh_source_is_ok_and_permitted():
    health = source_health_get(source=SOURCE)
    assert health.state == "ok"
    assert source_fetch_permitted(health=health)


def test_failures_back_off_exponentially_then_open_the_breaker(settings):
    settings.QUOTE_BACKOFF_BASE_SECONDS = 5
    settings.QUOTE_BACKOFF_MAX_SECONDS = 600
    settings.QUOTE_BREAKER_FAILURES = 3
    delays = []
    states = []
    for _ in range(4):
        before = time.time()
        health = fail()
        delays.append(round(health.retry_at - before))
        states.append(health.state)
    assert delays == [5, 10, 20, 40]
    assert states == ["degraded", "degraded", "down", "down"]
    assert not source_fetch_permitted(health=source_health_get(source=SOURCE))


def test_backoff_is_capped(settings):
    settings.QUOTE_BACKOFF_BASE_SECONDS = 5
    settings.QUOTE_BACKOFF_MAX_SECONDS = 30
    for _ in range(10):
        health = fail()
    assert health.retry_in() <= 30


def test_a_rate_limit_opens_the_breaker_at_once_for_longer(settings):
    settings.QUOTE_RATE_LIMIT_BACKOFF_SECONDS = 60
    health = fail(FailureKind.RATE_LIMITED)
    assert health.state == "down"
    assert health.retry_in() >= 59


def test_half_open_lets_exactly_one_worker_probe(redis_clean):
    fail()
    # The backoff has run out.
    redis_clean.hset(redis_key("source", SOURCE), "retry_at", 0)
    health = source_health_get(source=SOURCE)
    assert source_fetch_permitted(health=health) is True  # this worker probes
    assert source_fetch_permitted(health=health) is False  # the others wait
    assert source_fetch_permitted(health=health) is False
    # A worker killed mid-probe does not wedge the breaker: the probe expires.
    assert 0 < redis_sync().ttl(redis_key("source-probe", SOURCE)) <= 20


def test_probe_success_closes_the_breaker(redis_clean):
    fail()
    redis_clean.hset(redis_key("source", SOURCE), "retry_at", 0)
    assert source_fetch_permitted(health=source_health_get(source=SOURCE))
    source_record_success(source=SOURCE)
    health = source_health_get(source=SOURCE)
    assert health.state == "ok" and health.failures == 0
    assert source_fetch_permitted(health=health) and source_fetch_permitted(health=health)


def test_probe_failure_opens_it_again_for_longer(redis_clean, settings):
    settings.QUOTE_BACKOFF_BASE_SECONDS = 5
    fail()
    redis_clean.hset(redis_key("source", SOURCE), "retry_at", 0)
    assert source_fetch_permitted(health=source_health_get(source=SOURCE))
    health = fail()
    assert health.failures == 2 and health.retry_in() >= 9
    assert not source_fetch_permitted(health=source_health_get(source=SOURCE))


@pytest.mark.parametrize("state", ["degraded", "down"])
def test_status_message_shape(state, settings):
    settings.QUOTE_BREAKER_FAILURES = 1 if state == "down" else 5
    status = fail().as_status()
    assert status == {"type": "status", "source": SOURCE, "state": state, "retry_in": status["retry_in"]}
    assert status["retry_in"] > 0
