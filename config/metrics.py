"""Prometheus figures for the whole deployment, kept in Redis and exposed at /metrics.

A scrape reaches any one of N web processes behind a load balancer, and most
figures come from Celery workers, so process-local prometheus_client metrics
would each show one process's slice. Instead every figure lives in Redis under
``redis_key("metrics", <name>)``, one hash per metric:

- counters: a field per label set, incremented with HINCRBY;
- histograms: a field per label set and bucket (not cumulative), plus ``sum``
  (HINCRBYFLOAT) and ``count``;
- gauges: a field per label set holding ``[value, unix time set]``.

A custom collector reads every hash in one round trip at scrape time, so any
web process answers with the same, complete figures. Figures cheaper to
compute than to keep (open sockets, quote ages, the source's state) come from
scrape-time collectors that the apps register.

Recording never fails the caller: when Redis is down, figures are lost and a
warning says so. Web processes count per-socket messages in memory
(``metric_count_local``) and flush the sums every METRICS_FLUSH_SECONDS, so a
delivered message never costs a Redis round trip.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from redis.exceptions import RedisError

from .redis_client import redis_async, redis_key, redis_sync

logger = logging.getLogger(__name__)

COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    # Gauges only: samples set longer ago than this are left out of scrapes,
    # so a figure from a worker that stopped does not pose as current.
    stale_after_seconds: float | None = None


_SPECS: dict[str, MetricSpec] = {}
_SCRAPE_COLLECTORS: dict[str, Callable[[], Iterable[Metric]]] = {}


def metric_define(
    *,
    name: str,
    kind: str,
    help: str,
    labels: Iterable[str] = (),
    buckets: Iterable[float] = (),
    stale_after_seconds: float | None = None,
) -> MetricSpec:
    """Declare a Redis-backed figure (at import time of the module that records it)."""
    if kind not in {COUNTER, GAUGE, HISTOGRAM}:
        raise ValueError(f"unknown metric kind {kind!r}")
    if kind == COUNTER and not name.endswith("_total"):
        raise ValueError(f"counter names end in _total: {name!r}")
    buckets = tuple(sorted(float(b) for b in buckets))
    if kind == HISTOGRAM and not buckets:
        raise ValueError(f"histogram {name!r} needs buckets")
    spec = MetricSpec(name, kind, help, tuple(labels), buckets, stale_after_seconds)
    existing = _SPECS.setdefault(name, spec)
    if existing != spec:
        raise ValueError(f"metric {name!r} is already defined differently")
    return spec


def scrape_collector_register(*, name: str, collect: Callable[[], Iterable[Metric]]) -> None:
    """Add figures computed at scrape time; `name` labels its health in tickerwatch_scrape_collector_up."""
    _SCRAPE_COLLECTORS[name] = collect


def _key(spec: MetricSpec) -> str:
    return redis_key("metrics", spec.name)


@lru_cache(maxsize=1024)
def _field_cached(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return json.dumps(list(values), separators=(",", ":"))


def _field(spec: MetricSpec, labels: dict[str, object]) -> str:
    if set(labels) != set(spec.labels):
        raise ValueError(f"{spec.name} takes labels {spec.labels}, got {tuple(labels)}")
    return _field_cached(spec.labels, tuple(str(labels[name]) for name in spec.labels))


# --- recording --------------------------------------------------------------


@dataclass(slots=True)
class MetricsBatch:
    """Figure updates that go to Redis together, in one round trip."""

    ops: list[tuple[str, str, str, float]] = field(default_factory=list)

    def count(self, spec: MetricSpec, amount: float = 1, **labels: object) -> MetricsBatch:
        if spec.kind != COUNTER:
            raise TypeError(f"{spec.name} is not a counter")
        if amount < 0:
            raise ValueError("counters only go up")
        if amount:
            self.ops.append(("hincrby", _key(spec), _field(spec, labels), amount))
        return self

    def observe(self, spec: MetricSpec, value: float, **labels: object) -> MetricsBatch:
        if spec.kind != HISTOGRAM:
            raise TypeError(f"{spec.name} is not a histogram")
        key, label_field = _key(spec), _field(spec, labels)
        index = next((i for i, bound in enumerate(spec.buckets) if value <= bound), len(spec.buckets))
        self.ops.append(("hincrby", key, f"{label_field}|b{index}", 1))
        self.ops.append(("hincrby", key, f"{label_field}|count", 1))
        self.ops.append(("hincrbyfloat", key, f"{label_field}|sum", float(value)))
        return self

    def set(self, spec: MetricSpec, value: float, **labels: object) -> MetricsBatch:
        if spec.kind != GAUGE:
            raise TypeError(f"{spec.name} is not a gauge")
        self.ops.append(("hset", _key(spec), _field(spec, labels), json.dumps([float(value), time.time()])))
        return self

    def apply(self, pipe) -> None:
        """Queue the updates on a caller's pipeline (to share its round trip)."""
        for op, key, label_field, value in self.ops:
            if op == "hincrby" and float(value).is_integer():
                pipe.hincrby(key, label_field, int(value))
            elif op in {"hincrby", "hincrbyfloat"}:
                pipe.hincrbyfloat(key, label_field, value)
            else:
                pipe.hset(key, label_field, value)


def metrics_send(*, batch: MetricsBatch) -> bool:
    """Write a batch in one round trip; False (and a warning) when Redis did not take it."""
    if not batch.ops:
        return True
    try:
        pipe = redis_sync().pipeline(transaction=False)
        batch.apply(pipe)
        pipe.execute()
    except RedisError as error:
        logger.warning(
            "Lost %d metric update(s): Redis did not answer (%s: %s). /metrics undercounts until Redis is back.",
            len(batch.ops),
            type(error).__name__,
            error,
        )
        return False
    return True


# --- per-socket counting in web processes ----------------------------------

_pending: Counter[tuple[str, str]] = Counter()
_pending_lock = threading.Lock()
# Loops with a flush already scheduled: at most one per loop, however many messages.
_flush_scheduled: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
_flush_tasks: set[asyncio.Task] = set()


def metric_count_local(spec: MetricSpec, amount: int = 1, **labels: object) -> None:
    """Count in this process's memory; a flush within METRICS_FLUSH_SECONDS takes the sums to Redis.

    For the hot path (a message per socket per tick): a dict increment, no I/O.
    Called from an event loop, the flush is scheduled on that loop; elsewhere,
    call `metrics_local_flush()`.
    """
    if spec.kind != COUNTER:
        raise TypeError(f"{spec.name} is not a counter")
    with _pending_lock:
        _pending[(_key(spec), _field(spec, labels))] += amount
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if loop not in _flush_scheduled:
        _flush_scheduled.add(loop)
        loop.call_later(max(0.0, settings.METRICS_FLUSH_SECONDS), _flush_start, loop)


def _flush_start(loop: asyncio.AbstractEventLoop) -> None:
    _flush_scheduled.discard(loop)
    task = loop.create_task(metrics_local_flush_async())
    # The loop keeps only weak references to tasks.
    _flush_tasks.add(task)
    task.add_done_callback(_flush_tasks.discard)


def _pending_take() -> Counter[tuple[str, str]]:
    global _pending
    with _pending_lock:
        taken, _pending = _pending, Counter()
    return taken


def metrics_pending_discard() -> int:
    """Drop this process's unflushed counts (tests); returns how many fields were dropped."""
    return len(_pending_take())


def _pending_restore(taken: Counter[tuple[str, str]], error: Exception) -> None:
    with _pending_lock:
        _pending.update(taken)
    logger.warning(
        "Could not flush %d socket counter(s) to Redis (%s: %s); kept in memory for the next flush.",
        len(taken),
        type(error).__name__,
        error,
    )


async def metrics_local_flush_async() -> int:
    """Add this process's pending counts to Redis in one round trip; returns how many fields were written."""
    taken = _pending_take()
    if not taken:
        return 0
    try:
        pipe = redis_async().pipeline(transaction=False)
        for (key, label_field), amount in taken.items():
            pipe.hincrby(key, label_field, amount)
        await pipe.execute()
    except (RedisError, OSError) as error:
        _pending_restore(taken, error)
        return 0
    return len(taken)


def metrics_local_flush() -> int:
    """The synchronous flush, for code without an event loop (and tests)."""
    taken = _pending_take()
    if not taken:
        return 0
    try:
        pipe = redis_sync().pipeline(transaction=False)
        for (key, label_field), amount in taken.items():
            pipe.hincrby(key, label_field, amount)
        pipe.execute()
    except RedisError as error:
        _pending_restore(taken, error)
        return 0
    return len(taken)


# --- exposition ---------------------------------------------------------------


def _labels_of(label_field: str) -> list[str]:
    return json.loads(label_field)


def _number(raw: bytes) -> float:
    return float(raw.decode())


def _bound(value: float) -> str:
    return "+Inf" if math.isinf(value) else repr(float(value))


def _family(spec: MetricSpec, raw: dict[bytes, bytes], now: float) -> Metric:
    fields = {k.decode(): v for k, v in raw.items()}
    labels = list(spec.labels)
    if spec.kind == COUNTER:
        family = CounterMetricFamily(spec.name, spec.help, labels=labels)
        for label_field, value in sorted(fields.items()):
            family.add_metric(_labels_of(label_field), _number(value))
        return family
    if spec.kind == GAUGE:
        family = GaugeMetricFamily(spec.name, spec.help, labels=labels)
        for label_field, stored in sorted(fields.items()):
            value, set_at = json.loads(stored)
            if spec.stale_after_seconds is not None and now - set_at > spec.stale_after_seconds:
                continue
            family.add_metric(_labels_of(label_field), value)
        return family
    family = HistogramMetricFamily(spec.name, spec.help, labels=labels)
    by_labels: dict[str, dict[str, float]] = {}
    for name, value in fields.items():
        label_field, _, part = name.rpartition("|")
        by_labels.setdefault(label_field, {})[part] = _number(value)
    bounds = [*spec.buckets, math.inf]
    for label_field, parts in sorted(by_labels.items()):
        cumulative, buckets = 0.0, []
        for index, bound in enumerate(bounds):
            cumulative += parts.get(f"b{index}", 0.0)
            buckets.append((_bound(bound), cumulative))
        family.add_metric(_labels_of(label_field), buckets, parts.get("sum", 0.0))
    return family


class RedisMetricsCollector:
    """Every defined figure from Redis, plus the scrape-time collectors, for one scrape."""

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "tickerwatch_scrape_collector_up",
            "1 when this part of the scrape could be read (store: the figures kept in Redis), 0 when it failed.",
            labels=["collector"],
        )
        specs = sorted(_SPECS.values(), key=lambda spec: spec.name)
        try:
            pipe = redis_sync().pipeline(transaction=False)
            for spec in specs:
                pipe.hgetall(_key(spec))
            stored = pipe.execute()
        except RedisError as error:
            logger.warning("Scrape without stored figures: Redis did not answer (%s: %s)", type(error).__name__, error)
            up.add_metric(["store"], 0)
        else:
            up.add_metric(["store"], 1)
            now = time.time()
            for spec, raw in zip(specs, stored, strict=True):
                yield _family(spec, raw, now)
        for name, collect in sorted(_SCRAPE_COLLECTORS.items()):
            try:
                families = list(collect())
            except Exception:
                logger.exception("Scrape collector %r failed; its figures are missing from this scrape", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


def metrics_render() -> bytes:
    """The Prometheus text exposition of every figure."""
    # No process_* or python_* default collectors: with N processes behind a
    # balancer, one process's figures under the deployment's name mislead.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisMetricsCollector())
    return generate_latest(registry)


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def metrics_view(request: HttpRequest) -> HttpResponse:
    """/metrics for a scraper holding METRICS_TOKEN; anyone else (and everyone when it is unset) gets a 404."""
    expected = settings.METRICS_TOKEN
    # 404 rather than 401: the endpoint does not advertise itself to scanners.
    if not expected or not hmac.compare_digest(_bearer_token(request).encode(), expected.encode()):
        raise Http404("No such page")
    response = HttpResponse(metrics_render(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
