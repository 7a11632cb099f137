"""Figures about the quote source: requests, errors by kind, fetch time, and the breaker's state.

Requests, errors and fetch time are recorded by the worker that fetched
(`upstream_fetch_record`, one Redis round trip per fetch); the source's state
is read from prices.source_health at scrape time, so it is never older than
the scrape.
"""

import time

from prometheus_client.core import GaugeMetricFamily

from config.metrics import COUNTER, HISTOGRAM, MetricsBatch, metric_define, metrics_send, scrape_collector_register

from .providers import FetchResult, provider_get
from .source_health import DEGRADED, DOWN, OK, source_health_get

UPSTREAM_REQUESTS = metric_define(
    name="tickerwatch_upstream_requests_total",
    kind=COUNTER,
    help="HTTP requests made to the quote source for quotes (one per batch of up to 50 symbols).",
    labels=["source"],
)
UPSTREAM_ERRORS = metric_define(
    name="tickerwatch_upstream_errors_total",
    kind=COUNTER,
    help="Failed batches by kind (prices.providers.FailureKind: rate_limited, auth, timeout, network, ...).",
    labels=["source", "kind"],
)
UPSTREAM_FETCH_SECONDS = metric_define(
    name="tickerwatch_upstream_fetch_duration_seconds",
    kind=HISTOGRAM,
    help="Time one fetch from the quote source took, all its batches together.",
    labels=["source"],
    buckets=[0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
)
SOURCE_STATES = (OK, DEGRADED, DOWN)


def upstream_fetch_record(*, source: str, fetched: FetchResult, seconds: float) -> None:
    """Count one fetch's requests and failures and time it; never raises (Redis trouble is logged)."""
    batch = MetricsBatch().count(UPSTREAM_REQUESTS, fetched.requests, source=source)
    for failure in fetched.failures:
        batch.count(UPSTREAM_ERRORS, source=source, kind=str(failure.kind))
    batch.observe(UPSTREAM_FETCH_SECONDS, seconds, source=source)
    metrics_send(batch=batch)


def _source_figures():
    source = provider_get().name
    health = source_health_get(source=source)
    state = GaugeMetricFamily(
        "tickerwatch_source_state",
        "The quote source's circuit breaker: 1 for its current state (ok, degraded, down), 0 for the others.",
        labels=["source", "state"],
    )
    for name in SOURCE_STATES:
        state.add_metric([source, name], 1 if health.state == name else 0)
    failures = GaugeMetricFamily(
        "tickerwatch_source_consecutive_failures", "Failed fetches in a row (0 when healthy).", labels=["source"]
    )
    failures.add_metric([source], health.failures)
    retry = GaugeMetricFamily(
        "tickerwatch_source_retry_in_seconds",
        "Seconds until the source is asked again (0: not backing off).",
        labels=["source"],
    )
    retry.add_metric([source], health.retry_in(time.time()))
    return [state, failures, retry]


scrape_collector_register(name="source", collect=_source_figures)
