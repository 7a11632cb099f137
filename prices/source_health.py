"""How the quote source is doing, shared by every worker through Redis: a circuit breaker.

Closed ("ok"): requests flow. After a failure the source is left alone for a
while (exponential backoff, capped) and shown as "degraded"; after
QUOTE_BREAKER_FAILURES failures in a row, or any rate limit, the breaker is
open and the source "down". When the backoff runs out the breaker is
half-open: exactly one worker probes the source while the others keep
waiting; success closes it, failure opens it again for longer. A
rate-limited Yahoo is never hammered by every worker and every tick. Pages
are told the state with the seconds until the next attempt.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from config.redis_client import redis_key, redis_sync

from .providers import FailureKind, FetchFailure

logger = logging.getLogger(__name__)

OK, DEGRADED, DOWN = "ok", "degraded", "down"


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


def _probe_key(source: str) -> str:
    return redis_key("source-probe", source)


def source_fetch_permitted(*, health: SourceHealth, now: float | None = None) -> bool:
    """Whether this caller may ask the source now (closed breaker, or the one half-open probe)."""
    now = time.time() if now is None else now
    if health.failures == 0:
        return True
    if now < health.retry_at:
        return False
    # Half-open: one probe across all workers; it expires if its worker dies.
    probe_seconds = int(settings.QUOTE_FETCH_TIMEOUT_SECONDS) + 5
    return bool(redis_sync().set(_probe_key(health.source), 1, nx=True, ex=probe_seconds))


def source_probe_release(*, source: str) -> None:
    redis_sync().delete(_probe_key(source))


def source_record_success(*, source: str) -> SourceHealth:
    health = SourceHealth(source=source, state=OK, failures=0, retry_at=0.0, last_ok=time.time())
    pipe = redis_sync().pipeline()
    pipe.hset(
        _key(source),
        mapping={"state": OK, "failures": 0, "retry_at": 0, "last_ok": health.last_ok, "last_error": ""},
    )
    pipe.delete(_probe_key(source))
    pipe.execute()
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
    down = failure.kind == FailureKind.RATE_LIMITED or failures >= settings.QUOTE_BREAKER_FAILURES
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
    client.delete(_probe_key(source))
    logger.warning(
        "Quote source %s failed (%s, %d in a row): %s. Next attempt in %.0f s; pages show the last quotes as stale.",
        source,
        failure.kind,
        failures,
        failure.detail,
        delay,
    )
    return health
