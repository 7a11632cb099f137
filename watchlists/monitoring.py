"""What each tick did, for /metrics, the logs and the admin's Live page.

`tick_recorded` wraps the tick functions in watchlists.live: after each tick
it writes the tick's figures and appends its report to a short list in Redis
(the last TICK_HISTORY_LENGTH ticks that did something), in one round trip.
Recording never fails a tick: when Redis is down the figures are lost and a
warning says so.
"""

import functools
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from django.db.models import Count
from redis.exceptions import RedisError

from config.metrics import MetricsBatch
from config.redis_client import redis_key, redis_sync
from prices.providers import provider_get
from prices.source_health import SourceHealth, source_health_get

from . import metrics
from .models import Watchlist
from .presence import watchlists_viewed

logger = logging.getLogger(__name__)

TICK_HISTORY_LENGTH = 20
# Long enough to read the last figures after a quiet night, short enough not to linger.
TICK_HISTORY_TTL_SECONDS = 7 * 24 * 60 * 60
# What watchlists.live reports when the source is backing off (or out of budget) and nothing was fetched.
BACKING_OFF = "backing off"


def _history_key() -> str:
    return redis_key("ticks", "recent")


def tick_fields(*, report) -> dict:
    """A report's figures for logs and history: everything but the (long) list of changed symbols."""
    fields = asdict(report)
    fields.pop("changed_symbols", None)
    return fields


def _skip_reason(report) -> str:
    if report.skipped:
        return report.skipped
    return "backoff" if report.failure == BACKING_OFF else ""


def tick_record(*, report) -> None:
    """The tick's figures and, unless it was idle, its report in the recent-ticks list."""
    kind = report.kind
    reason = _skip_reason(report)
    batch = MetricsBatch()
    if reason:
        batch.count(metrics.TICKS_SKIPPED, kind=kind, reason=reason)
    else:
        batch.count(metrics.TICKS_RUN, kind=kind)
        batch.observe(metrics.TICK_DURATION_SECONDS, report.duration_ms / 1000, kind=kind)
        batch.set(metrics.TICK_LAST_RUN, time.time(), kind=kind)
        batch.count(metrics.QUOTES_CHANGED, report.changed)
        batch.count(metrics.GROUP_MESSAGES, report.published)
    if reason in {"", "idle", "backoff"}:
        # An idle tick serves no symbols; locked and duplicate ones say nothing about them.
        batch.set(metrics.TICK_SYMBOLS, report.symbols, kind=kind)
    try:
        pipe = redis_sync().pipeline(transaction=False)
        batch.apply(pipe)
        if reason != "idle":
            # Idle ticks every few seconds would push the informative ones out.
            entry = {"at": time.time(), **tick_fields(report=report)}
            pipe.lpush(_history_key(), json.dumps(entry, separators=(",", ":")))
            pipe.ltrim(_history_key(), 0, TICK_HISTORY_LENGTH - 1)
            pipe.expire(_history_key(), TICK_HISTORY_TTL_SECONDS)
        pipe.execute()
    except RedisError as error:
        logger.warning(
            "Could not record a %s's figures: Redis did not answer (%s: %s). /metrics and the admin's Live page "
            "miss this tick; quotes were fetched and sent as usual.",
            kind,
            type(error).__name__,
            error,
        )


def tick_recorded(*, kind: str):
    """Decorate a function returning a TickReport: record every report, and count the ones that raise."""

    def decorate(run):
        @functools.wraps(run)
        def wrapper(*args, **kwargs):
            try:
                report = run(*args, **kwargs)
            except BaseException:
                try:
                    pipe = redis_sync().pipeline(transaction=False)
                    MetricsBatch().count(metrics.TICKS_FAILED, kind=kind).apply(pipe)
                    pipe.execute()
                except RedisError:
                    logger.warning("Could not count a failed %s: Redis did not answer", kind)
                raise
            tick_record(report=report)
            return report

        return wrapper

    return decorate


def ticks_recent(*, limit: int = TICK_HISTORY_LENGTH) -> list[dict]:
    """The last ticks' reports, newest first, each with "at" as an aware datetime."""
    entries = []
    for raw in redis_sync().lrange(_history_key(), 0, limit - 1):
        entry = json.loads(raw)
        entry["at"] = datetime.fromtimestamp(entry["at"], UTC)
        entries.append(entry)
    return entries


@dataclass(frozen=True, slots=True)
class ViewedWatchlist:
    watchlist: Watchlist
    viewers: int


@dataclass(frozen=True, slots=True)
class LiveOverview:
    sockets: int
    watchlists: list[ViewedWatchlist]
    ticks: list[dict]
    source: SourceHealth
    simulated: bool


def live_overview() -> LiveOverview:
    """Open lists with their viewers, the recent ticks and the source's state: one query, three Redis reads."""
    viewed = watchlists_viewed()
    watchlists = (
        Watchlist.objects.filter(pk__in=viewed).select_related("owner").annotate(symbol_count=Count("items"))
        if viewed
        else Watchlist.objects.none()
    )
    rows = sorted(
        (ViewedWatchlist(watchlist=watchlist, viewers=viewed[watchlist.pk]) for watchlist in watchlists),
        key=lambda row: (-row.viewers, row.watchlist.name.lower(), row.watchlist.pk),
    )
    provider = provider_get()
    return LiveOverview(
        sockets=sum(viewed.values()),
        watchlists=rows,
        ticks=ticks_recent(),
        source=source_health_get(source=provider.name),
        simulated=provider.name == "simulated",
    )
