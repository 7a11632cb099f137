"""/metrics: who may read it, and the Redis-backed store behind it, against the real Redis."""

import logging
import socket

import pytest
from django.test import Client
from prometheus_client import CONTENT_TYPE_LATEST

from config.metrics import (
    COUNTER,
    GAUGE,
    HISTOGRAM,
    MetricsBatch,
    metric_count_local,
    metric_define,
    metrics_local_flush,
    metrics_render,
    metrics_send,
)
from config.redis_client import redis_key
from tests.support.scrape import sample, samples_parse

TOKEN = "s3cret-scrape-token"

TEST_COUNTER = metric_define(name="tickerwatch_test_events_total", kind=COUNTER, help="test", labels=["colour"])
TEST_HISTOGRAM = metric_define(
    name="tickerwatch_test_wait_seconds", kind=HISTOGRAM, help="test", labels=["queue"], buckets=[0.1, 1, 10]
)
TEST_GAUGE = metric_define(name="tickerwatch_test_level", kind=GAUGE, help="test", labels=["tank"])
TEST_STALE_GAUGE = metric_define(name="tickerwatch_test_heartbeat", kind=GAUGE, help="test", stale_after_seconds=60)


@pytest.fixture
def scrape(db, settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        return samples_parse(response.content.decode())

    return get


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- who may scrape -----------------------------------------------------------


def test_without_a_token_configured_metrics_does_not_exist(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}"],
)
def test_a_missing_or_wrong_token_gets_404(settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = Client().get("/metrics", **headers)
    assert response.status_code == 404
    assert b"tickerwatch_" not in response.content


def test_the_right_token_gets_the_exposition(db, settings):
    settings.METRICS_TOKEN = TOKEN
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    assert "# TYPE tickerwatch_ticks_run_total counter" in text
    assert "process_cpu_seconds_total" not in text  # one process's figures would mislead behind a balancer


# --- the store ----------------------------------------------------------------


def test_counters_histograms_and_gauges_round_trip_through_redis(scrape):
    batch = MetricsBatch().count(TEST_COUNTER, colour="red").count(TEST_COUNTER, 2, colour="red")
    batch.count(TEST_COUNTER, colour="blue")
    for value in (0.05, 0.5, 0.5, 5, 50):
        batch.observe(TEST_HISTOGRAM, value, queue="q1")
    batch.set(TEST_GAUGE, 3, tank="a").set(TEST_GAUGE, 7.5, tank="a")
    assert metrics_send(batch=batch)

    samples = scrape()
    assert sample(samples, "tickerwatch_test_events_total", colour="red") == 3
    assert sample(samples, "tickerwatch_test_events_total", colour="blue") == 1
    buckets = {
        le: sample(samples, "tickerwatch_test_wait_seconds_bucket", queue="q1", le=le)
        for le in ("0.1", "1.0", "10.0", "+Inf")
    }
    assert buckets == {"0.1": 1, "1.0": 3, "10.0": 4, "+Inf": 5}  # cumulative, as Prometheus expects
    assert sample(samples, "tickerwatch_test_wait_seconds_count", queue="q1") == 5
    assert sample(samples, "tickerwatch_test_wait_seconds_sum", queue="q1") == pytest.approx(56.05)
    assert sample(samples, "tickerwatch_test_level", tank="a") == 7.5


def test_figures_from_other_processes_add_up(scrape, redis_clean):
    # What another worker or web process wrote is simply more in the same hash.
    metrics_send(batch=MetricsBatch().count(TEST_COUNTER, 4, colour="green"))
    redis_clean.hincrby(redis_key("metrics", TEST_COUNTER.name), '["green"]', 6)
    assert sample(scrape(), "tickerwatch_test_events_total", colour="green") == 10


def test_a_gauge_not_set_for_too_long_leaves_the_scrape(scrape, redis_clean):
    redis_clean.hset(redis_key("metrics", TEST_STALE_GAUGE.name), "[]", "[1.0, 1000.0]")  # set in 1970
    assert sample(scrape(), "tickerwatch_test_heartbeat") is None
    metrics_send(batch=MetricsBatch().set(TEST_STALE_GAUGE, 1))
    assert sample(scrape(), "tickerwatch_test_heartbeat") == 1


def test_labels_must_match_the_definition():
    with pytest.raises(ValueError, match="takes labels"):
        MetricsBatch().count(TEST_COUNTER, shade="red")
    with pytest.raises(TypeError):
        MetricsBatch().set(TEST_COUNTER, 1, colour="red")
    with pytest.raises(ValueError, match="_total"):
        metric_define(name="tickerwatch_badly_named", kind=COUNTER, help="x")


def test_local_counts_reach_redis_only_when_flushed(scrape, redis_clean):
    key = redis_key("metrics", TEST_COUNTER.name)
    for _ in range(100):
        metric_count_local(TEST_COUNTER, colour="local")
    assert redis_clean.hget(key, '["local"]') is None  # a hundred counts, no round trip yet
    assert metrics_local_flush() == 1  # one field, one pipeline
    assert redis_clean.hget(key, '["local"]') == b"100"
    assert metrics_local_flush() == 0
    assert sample(scrape(), "tickerwatch_test_events_total", colour="local") == 100


def test_local_counts_survive_a_failed_flush(settings, redis_clean, caplog):
    caplog.set_level(logging.WARNING, logger="config.metrics")
    real = settings.REDIS_URL
    metric_count_local(TEST_COUNTER, 5, colour="kept")
    settings.REDIS_URL = f"redis://127.0.0.1:{_dead_port()}/0"
    assert metrics_local_flush() == 0
    assert "kept in memory for the next flush" in caplog.text
    settings.REDIS_URL = real
    assert metrics_local_flush() == 1
    assert redis_clean.hget(redis_key("metrics", TEST_COUNTER.name), '["kept"]') == b"5"


def test_recording_without_redis_warns_and_never_raises(settings, caplog):
    caplog.set_level(logging.WARNING, logger="config.metrics")
    settings.REDIS_URL = f"redis://127.0.0.1:{_dead_port()}/0"
    assert metrics_send(batch=MetricsBatch().count(TEST_COUNTER, colour="lost")) is False
    assert "Lost 1 metric update(s)" in caplog.text


def test_a_scrape_without_redis_still_answers_and_says_what_is_missing(db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_dead_port()}/0"
    samples = samples_parse(metrics_render().decode())
    assert sample(samples, "tickerwatch_scrape_collector_up", collector="store") == 0
    assert sample(samples, "tickerwatch_scrape_collector_up", collector="live") == 0  # presence is in Redis too
