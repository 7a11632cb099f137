"""The hot path: from open watchlists to fetched quotes to messages on open pages.

A tick reads which enabled watchlists have viewers, collects their distinct
symbols in one query, keeps those due (open markets every tick, closed ones
rarely), fetches them once through `prices.services.quotes_refresh`, and
sends each watchlist with changes ONE message carrying only its changes.
Upstream work depends on distinct due symbols, never on viewer count.
"""

import logging
import time
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import LockError

from config.redis_client import redis_key, redis_sync
from prices.models import MarketState, Quote
from prices.providers import provider_get
from prices.serializers import quote_payload
from prices.services import quotes_due, quotes_refresh
from prices.source_health import source_health_get
from prices.sparklines import sparklines_get

from .events import source_status_publish, watchlist_quotes_publish
from .monitoring import tick_fields, tick_recorded
from .selectors import watchlist_quotes, watchlist_symbols_by_list, watchlists_active

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TickReport:
    kind: str = "tick"
    skipped: str = ""  # why nothing ran: "locked", "idle"
    active_lists: int = 0
    symbols: int = 0
    due: int = 0
    upstream_requests: int = 0
    changed: int = 0
    published: int = 0
    unknown: int = 0
    failure: str = ""
    source_state: str = ""
    duration_ms: int = 0
    changed_symbols: list[str] = field(default_factory=list)

    def as_log(self) -> str:
        figures = asdict(self)
        figures.pop("changed_symbols")
        return " ".join(f"{key}={value}" for key, value in figures.items() if value not in ("", None))


def _tick_lock():
    # The lock outlives a killed worker only by its timeout (just past the
    # task's hard limit), so a SIGKILL mid-tick delays the next tick that long at most.
    timeout = max(settings.QUOTE_TICK_TIME_LIMIT_SECONDS + 3, 5)
    return redis_sync().lock(redis_key("lock", "quotes-tick"), timeout=timeout, blocking=False)


def status_now(*, force: bool = False) -> dict | None:
    """The source's status for open pages, at most once per heartbeat interval unless forced."""
    source = provider_get().name
    if not force:
        interval = max(1, int(settings.QUOTE_STATUS_HEARTBEAT_SECONDS))
        if not redis_sync().set(redis_key("status-heartbeat"), 1, nx=True, ex=interval):
            return None
    status = source_health_get(source=source).as_status()
    status["server_time"] = timezone.now().isoformat()
    return status


def _run(*, watchlist_ids: list[int], report: TickReport, force_symbols: set[str] | None = None) -> TickReport:
    started = time.monotonic()
    symbols_by_list = watchlist_symbols_by_list(watchlist_ids=watchlist_ids)
    distinct = set().union(*symbols_by_list.values()) if symbols_by_list else set()
    forced = sorted((force_symbols or set()) & distinct)
    due = list(dict.fromkeys([*forced, *quotes_due(symbols=distinct)]))
    report.active_lists, report.symbols, report.due = len(watchlist_ids), len(distinct), len(due)

    result = quotes_refresh(symbols=due)
    report.upstream_requests = result.requests
    report.changed = len(result.changed)
    report.unknown = len(result.unknown)
    report.changed_symbols = sorted(quote.symbol for quote in result.changed)
    if result.failures:
        report.failure = f"{result.failures[0].kind}: {result.failures[0].detail}"
    elif result.skipped:
        report.failure = "backing off"
    if result.health is not None:
        report.source_state = result.health.state

    payloads = {quote.symbol: quote_payload(quote) for quote in result.changed}
    quotes_by_list = {
        watchlist_id: [payloads[symbol] for symbol in symbols if symbol in payloads]
        for watchlist_id, symbols in symbols_by_list.items()
    }

    def publish() -> None:
        report.published = watchlist_quotes_publish(quotes_by_list=quotes_by_list)
        status = status_now(force=result.health_changed)
        if status is not None:
            source_status_publish(status=status)

    # Pages only hear of quotes the database already holds.
    transaction.on_commit(publish)
    report.duration_ms = round((time.monotonic() - started) * 1000)
    return report


def _tick_spacing_claim() -> bool:
    """At most one beat tick per interval, however many beats are running.

    The lock only stops ticks that overlap; two beats started by mistake tick
    at offset times and would each fetch. A tick claims the next 80% of the
    interval, so one beat's regular ticks always pass and a second beat's
    fall inside a claimed window.
    """
    window_ms = int(settings.QUOTE_POLL_SECONDS * 800)
    return bool(redis_sync().set(redis_key("tick-window"), 1, nx=True, px=max(window_ms, 1)))


@tick_recorded(kind="tick")
def quotes_tick_run(*, from_beat: bool = False) -> TickReport:
    """One tick: refresh the quotes of every watched, enabled list and push the changes."""
    report = TickReport(kind="tick")
    if from_beat and not _tick_spacing_claim():
        report.skipped = "duplicate"
        logger.warning(
            "Tick skipped: another tick ran less than one interval ago. Is a second celery beat running? "
            "Run exactly one beat."
        )
        return report
    lock = _tick_lock()
    if not lock.acquire():
        report.skipped = "locked"
        logger.info("Tick skipped: the previous tick still holds the lock (slow upstream or database?)")
        return report
    try:
        watchlist_ids = watchlists_active()
        if not watchlist_ids:
            report.skipped = "idle"
            logger.debug("Tick: no watchlist is open in a browser; nothing fetched")
            return report
        _run(watchlist_ids=watchlist_ids, report=report)
        # The figures ride along as fields for LOG_FORMAT=json.
        logger.info("Tick: %s", report.as_log(), extra={"tick": tick_fields(report=report)})
        return report
    finally:
        _release(lock)


def _release(lock) -> None:
    try:
        lock.release()
    except LockError:
        logger.warning("The tick lock expired before the tick finished; consider a longer QUOTE_POLL_SECONDS")


@tick_recorded(kind="refresh")
def watchlist_refresh_run(*, watchlist_id: int) -> TickReport:
    """Fetch one newly opened list's missing or stale quotes now instead of at the next tick."""
    report = TickReport(kind="refresh")
    lock = redis_sync().lock(
        redis_key("lock", "quotes-tick"),
        timeout=max(settings.QUOTE_TICK_TIME_LIMIT_SECONDS + 3, 5),
        blocking=True,
        blocking_timeout=settings.QUOTE_POLL_SECONDS,
    )
    if not lock.acquire():
        report.skipped = "locked"
        return report
    try:
        symbols = watchlist_symbols_by_list(watchlist_ids=[watchlist_id])[watchlist_id]
        quotes = list(Quote.objects.filter(symbol__in=symbols))
        if not _needs_refresh(symbols, quotes):
            # A tick or another list's refresh fetched them while this request waited for
            # the lock. In a reconnect storm (every page of a restarted web process at once)
            # that turns one full fetch-and-publish per list into about one in all.
            report.skipped = "fresh"
            return report
        missing = set(symbols) - {quote.symbol for quote in quotes}
        # Publish to every open list holding these symbols: a change seen
        # here will not count as a change again at the next tick.
        active = set(watchlists_active()) | {watchlist_id}
        _run(watchlist_ids=sorted(active), report=report, force_symbols=missing)
        logger.info(
            "Refresh for newly opened watchlist %s: %s",
            watchlist_id,
            report.as_log(),
            extra={"tick": tick_fields(report=report)},
        )
        return report
    finally:
        _release(lock)


def watchlist_refresh_request(*, watchlist_id: int) -> bool:
    """Ask a worker to refresh a list now; debounced so a crowd opening one list causes one fetch."""
    from .tasks import watchlist_refresh

    debounce = max(1, int(settings.QUOTE_POLL_SECONDS))
    if not redis_sync().set(redis_key("refresh-requested", watchlist_id), 1, nx=True, ex=debounce):
        return False
    watchlist_refresh.apply_async(args=[watchlist_id], expires=settings.QUOTE_POLL_SECONDS * 2)
    return True


def _needs_refresh(symbols: list[str], quotes: list[Quote]) -> bool:
    if len(quotes) < len(symbols):
        return True
    cutoff = timezone.now().timestamp() - settings.QUOTE_POLL_SECONDS * 2
    return any(
        MarketState.is_trading(quote.market_state) and not quote.unknown and quote.fetched_at.timestamp() < cutoff
        for quote in quotes
    )


def watchlist_snapshot(*, watchlist_id: int) -> tuple[dict, bool]:
    """The snapshot a socket sends on connect, and whether the list's quotes need a refresh now."""
    symbols, quotes = watchlist_quotes(watchlist_id=watchlist_id)
    provider = provider_get()
    try:
        source = source_health_get(source=provider.name).as_status()
    except Exception:
        logger.warning("Could not read the quote source's status from Redis; reporting it as unknown")
        source = {"type": "status", "source": provider.name, "state": "unknown", "retry_in": 0}
    source.pop("type")
    source["simulated"] = provider.name == "simulated"
    snapshot = {
        "type": "snapshot",
        "watchlist": watchlist_id,
        "symbols": symbols,
        "quotes": [quote_payload(quote) for quote in quotes],
        # Later points arrive as the quotes messages' prices: the page appends them.
        "sparklines": sparklines_get(symbols=symbols),
        "source": source,
        "server_time": timezone.now().isoformat(),
    }
    return snapshot, _needs_refresh(symbols, quotes)
