"""How the quote source is doing, shared by every worker through Redis.

After a failure the source is left alone for a while (exponential backoff,
capped), so a rate-limited Yahoo is not hammered by every worker and every
tick. Pages are told the state: ok, degraded (recent failures, still trying)
or down (rate-limited or failing repeatedly), with the seconds until the
next attempt.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from config.redis_client import redis_key, redis_sync

from .providers import FailureKind, FetchFailure

logger = logging.getLogger(__name__)

OK, DEGRADED, DOWN = "ok", "degraded", "down"
# Consecutive failures after which the source counts as down, not degraded.
DOWN_AFTER_FAILURES = 3


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    state: str = OK
    failures: int = 0
    retry_at: float = 0.0
    last_ok: float = 0.0
    last_error: str = ""

    def retry_in(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return max(0, round(self.retry_at - now))

    def as_status(self, now: float | None = None) -> dict:
        return {"type": "status", "source": self.source, "state": self.state, "retry_in": self.retry_in(now)}


def _key(source: str) -> str:
    return redis_key("source", source)


def source_health_get(*, source: str) -> SourceHealth:
    raw = redis_sync().hgetall(_key(source))
    if not raw:
        return SourceHealth(source=source)
    data = {k.decode(): v.decode() for k, v in raw.items()}
    return SourceHealth(
        source=source,
        state=data.get("state", OK),
        failures=int(data.get("failures", 0)),
        retry_at=float(data.get("retry_at", 0)),
        last_ok=float(data.get("last_ok", 0)),
        last_error=data.get("last_error", ""),
    )


def source_fetch_allowed(*, health: SourceHealth, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return now >= health.retry_at


def source_record_success(*, source: str) -> SourceHealth:
    health = SourceHealth(source=source, state=OK, failures=0, retry_at=0.0, last_ok=time.time())
    redis_sync().hset(
        _key(source),
        mapping={"state": OK, "failures": 0, "retry_at": 0, "last_ok": health.last_ok, "last_error": ""},
    )
    return health


def _backoff_seconds(failures: int, kind: FailureKind) -> float:
    base = settings.QUOTE_BACKOFF_BASE_SECONDS
    if kind == FailureKind.RATE_LIMITED:
        # Yahoo's 429s last minutes, not seconds: start well above a tick.
        base = max(base, settings.QUOTE_RATE_LIMIT_BACKOFF_SECONDS)
    return min(settings.QUOTE_BACKOFF_MAX_SECONDS, base * 2 ** (failures - 1))


def source_record_failure(*, source: str, failure: FetchFailure) -> SourceHealth:
    client = redis_sync()
    key = _key(source)
    failures = int(client.hincrby(key, "failures", 1))
    previous = client.hget(key, "last_ok")
    delay = _backoff_seconds(failures, failure.kind)
    down = failure.kind == FailureKind.RATE_LIMITED or failures >= DOWN_AFTER_FAILURES
    health = SourceHealth(
        source=source,
        state=DOWN if down else DEGRADED,
        failures=failures,
        retry_at=time.time() + delay,
        last_ok=float(previous or 0),
        last_error=f"{failure.kind}: {failure.detail}"[:500],
    )
    client.hset(
        key,
        mapping={"state": health.state, "retry_at": health.retry_at, "last_error": health.last_error},
    )
    logger.warning(
        "Quote source %s failed (%s, %d in a row): %s. Next attempt in %.0f s; pages show the last quotes as stale.",
        source,
        failure.kind,
        failures,
        failure.detail,
        delay,
    )
    return health
