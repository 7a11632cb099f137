"""Fetching and keeping quotes. Knows nothing of users, watchlists or sockets."""

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .metrics import upstream_fetch_record
from .models import MarketState, Quote
from .providers import FetchFailure, QuoteData, provider_get
from .source_health import (
    SourceHealth,
    source_fetch_permitted,
    source_health_get,
    source_probe_release,
    source_record_failure,
    source_record_success,
)
from .sparklines import sparklines_record
from .upstream_budget import upstream_tokens_take

logger = logging.getLogger(__name__)

# Fields whose change is news to a viewer. Volume and market time move on
# every print without changing what the row shows, so they do not count.
_COMPARED_FIELDS = (
    "price",
    "change",
    "change_percent",
    "previous_close",
    "day_high",
    "day_low",
    "market_state",
    "currency",
    "name",
    "unknown",
)
_STORED_FIELDS = (
    *_COMPARED_FIELDS,
    "exchange",
    "quote_type",
    "volume",
    "price_hint",
    "market_time",
    "fetched_at",
    "source",
)


@dataclass(slots=True)
class RefreshResult:
    changed: list[Quote] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    requested: int = 0
    requests: int = 0
    # True when the source is backing off and nothing was fetched.
    skipped: bool = False
    health: SourceHealth | None = None
    health_changed: bool = False


def quotes_due(*, symbols: Iterable[str], now: datetime | None = None) -> list[str]:
    """The symbols worth fetching now: open markets every tick, closed ones every QUOTE_CLOSED_POLL_SECONDS.

    Ordered by need: symbols with no quote yet, then the oldest confirmed.
    """
    symbols = sorted(set(symbols))
    if not symbols:
        return []
    now = now or timezone.now()
    closed_cutoff = now - timedelta(seconds=settings.QUOTE_CLOSED_POLL_SECONDS)
    known = {
        symbol: (state, fetched_at, unknown)
        for symbol, state, fetched_at, unknown in Quote.objects.filter(symbol__in=symbols).values_list(
            "symbol", "market_state", "fetched_at", "unknown"
        )
    }
    missing, due = [], []
    for symbol in symbols:
        if symbol not in known:
            missing.append(symbol)
            continue
        state, fetched_at, unknown = known[symbol]
        trading = MarketState.is_trading(state) and not unknown
        if trading or fetched_at <= closed_cutoff:
            due.append((fetched_at, symbol))
    # Missing first, then the longest unconfirmed: what a capped budget serves first.
    return missing + [symbol for _, symbol in sorted(due)]


_BIGINT_MAX = 2**63 - 1


def _decimal_for(field: str, value: Decimal | None) -> Decimal | None:
    """The value as the column stores it, or None when it cannot fit (a garbled figure, not a price)."""
    if value is None:
        return None
    column = Quote._meta.get_field(field)
    if abs(value) >= Decimal(10) ** (column.max_digits - column.decimal_places):
        return None
    return value.quantize(Decimal(1).scaleb(-column.decimal_places))


def _quote_from_data(data: QuoteData, *, source: str, now: datetime) -> Quote | None:
    price = _decimal_for("price", data.price)
    if price is None:
        logger.warning("Ignoring the quote for %s: its price %s does not fit a price column", data.symbol, data.price)
        return None
    return Quote(
        symbol=data.symbol,
        unknown=False,
        source=source,
        name=data.name[:200],
        exchange=data.exchange[:50],
        quote_type=data.quote_type[:30],
        currency=data.currency[:10],
        price=price,
        previous_close=_decimal_for("previous_close", data.previous_close),
        change=_decimal_for("change", data.change),
        change_percent=_decimal_for("change_percent", data.change_percent),
        day_high=_decimal_for("day_high", data.day_high),
        day_low=_decimal_for("day_low", data.day_low),
        volume=data.volume if data.volume is not None and 0 <= data.volume <= _BIGINT_MAX else None,
        price_hint=max(0, min(int(data.price_hint), 10)),
        market_state=data.market_state if data.market_state in MarketState.values else MarketState.UNKNOWN,
        market_time=data.market_time,
        fetched_at=now,
    )


def _differs(old: Quote | None, new: Quote) -> bool:
    return old is None or any(getattr(old, name) != getattr(new, name) for name in _COMPARED_FIELDS)


@transaction.atomic
def quotes_store(*, quotes: list[QuoteData], unknown: list[str], source: str) -> list[Quote]:
    """Upsert what changed in one transaction; return the changed quotes.

    Unchanged quotes only get their fetched_at moved on (one UPDATE), so the
    page and the closed-market cadence know they were confirmed just now.
    """
    now = timezone.now()
    incoming = {quote.symbol: quote for data in quotes if (quote := _quote_from_data(data, source=source, now=now))}
    for symbol in unknown:
        if symbol not in incoming:
            incoming[symbol] = Quote(symbol=symbol, unknown=True, source=source, fetched_at=now)
    if not incoming:
        return []
    existing = Quote.objects.in_bulk(list(incoming), field_name="symbol")

    changed, unchanged = [], []
    for symbol, new in incoming.items():
        old = existing.get(symbol)
        if new.unknown and old is not None:
            # Keep the last real numbers of a symbol Yahoo stopped knowing.
            if old.unknown:
                unchanged.append(symbol)
                continue
            for name in _STORED_FIELDS:
                if name not in {"unknown", "fetched_at", "source"}:
                    setattr(new, name, getattr(old, name))
        if _differs(old, new):
            changed.append(new)
        else:
            unchanged.append(symbol)

    if changed:
        Quote.objects.bulk_create(
            changed, update_conflicts=True, unique_fields=["symbol"], update_fields=list(_STORED_FIELDS)
        )
    if unchanged:
        Quote.objects.filter(symbol__in=unchanged).update(fetched_at=now)
    return changed


def quotes_refresh(*, symbols: Iterable[str]) -> RefreshResult:
    """Fetch these symbols from the configured source (unless it is backing off), store, return what changed."""
    # Order matters when the budget cuts the list short: callers put the
    # most needed (missing, then oldest) first.
    symbols = list(dict.fromkeys(symbols))
    provider = provider_get()
    health = source_health_get(source=provider.name)
    result = RefreshResult(requested=len(symbols), health=health)
    if not symbols:
        return result
    if not source_fetch_permitted(health=health):
        result.skipped = True
        logger.info(
            "Skipping %d symbols: %s is backing off for %d s more after %s",
            len(symbols),
            provider.name,
            health.retry_in(),
            health.last_error or "failures",
        )
        return result
    if provider.batch_size:
        batches = math.ceil(len(symbols) / provider.batch_size)
        granted = upstream_tokens_take(source=provider.name, wanted=batches)
        if granted == 0:
            source_probe_release(source=provider.name)
            result.skipped = True
            return result
        symbols = symbols[: granted * provider.batch_size]

    started = time.monotonic()
    fetched = provider.fetch(symbols)
    upstream_fetch_record(source=provider.name, fetched=fetched, seconds=time.monotonic() - started)
    result.requests = fetched.requests
    result.unknown = fetched.unknown
    result.failures = fetched.failures
    result.changed = quotes_store(quotes=fetched.quotes, unknown=fetched.unknown, source=provider.name)
    if result.changed:
        # Trend lines only show prices the database holds; inside a caller's
        # transaction that means after its commit, not after quotes_store's.
        changed = list(result.changed)
        transaction.on_commit(lambda: sparklines_record(quotes=changed))

    if fetched.failure is not None:
        new_health = source_record_failure(source=provider.name, failure=fetched.failure)
    elif health.state != "ok" or health.failures:
        new_health = source_record_success(source=provider.name)
        logger.info("Quote source %s answers again; back to normal.", provider.name)
    else:
        new_health = health
    result.health_changed = new_health.state != health.state
    result.health = new_health
    return result
