"""Recent prices per symbol, for the trend line beside each quote.

One Redis list per symbol holds "<fetched_at epoch> <price>" entries, oldest
first, trimmed to SPARKLINE_POINTS, so a page opened now draws the same line as
a page that has been open for an hour. The lists expire: a symbol nobody
watches any more stops changing, and its line goes with it.

Trend lines are decoration: when Redis is unreachable the tick and the page
carry on without them.
"""

import logging
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.conf import settings
from redis.exceptions import RedisError

from config.redis_client import redis_key, redis_sync

from .models import Quote

logger = logging.getLogger(__name__)

# A day: long enough for a quiet market's line to survive between its changes,
# short enough that an abandoned symbol's list does not linger.
SPARKLINE_TTL_SECONDS = 24 * 60 * 60


def _key(symbol: str) -> str:
    return redis_key("spark", symbol)


def _points_limit() -> int:
    return max(2, int(settings.SPARKLINE_POINTS))


def _price_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def sparklines_record(*, quotes: Iterable[Quote]) -> None:
    """Append each quote's price to its symbol's line, in one round trip; unknown or priceless quotes add nothing."""
    entries = [
        (quote.symbol, f"{quote.fetched_at.timestamp():.3f} {_price_text(quote.price)}")
        for quote in quotes
        if not quote.unknown and quote.price is not None and quote.fetched_at is not None
    ]
    if not entries:
        return
    limit = _points_limit()
    try:
        pipe = redis_sync().pipeline(transaction=False)
        for symbol, entry in entries:
            key = _key(symbol)
            pipe.rpush(key, entry)
            pipe.ltrim(key, -limit, -1)
            pipe.expire(key, SPARKLINE_TTL_SECONDS)
        pipe.execute()
    except RedisError as error:
        logger.warning(
            "Could not record %d price(s) for trend lines: Redis did not answer (%s: %s). "
            "Prices are stored and sent as usual; check REDIS_URL and the Redis server.",
            len(entries),
            type(error).__name__,
            error,
        )


def _price_of(entry: bytes) -> str | None:
    _, _, text = entry.decode("utf-8", "replace").partition(" ")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return text if value.is_finite() else None


def sparklines_get(*, symbols: Iterable[str]) -> dict[str, list[str]]:
    """Each symbol's recent prices as decimal strings, oldest first, in one round trip (empty lists without Redis)."""
    symbols = list(dict.fromkeys(symbols))
    empty: dict[str, list[str]] = {symbol: [] for symbol in symbols}
    if not symbols:
        return empty
    limit = _points_limit()
    try:
        pipe = redis_sync().pipeline(transaction=False)
        for symbol in symbols:
            pipe.lrange(_key(symbol), -limit, -1)
        results = pipe.execute()
    except RedisError as error:
        logger.warning(
            "Could not read trend lines for %d symbol(s): Redis did not answer (%s: %s). "
            "Pages show quotes without trend lines; check REDIS_URL and the Redis server.",
            len(symbols),
            type(error).__name__,
            error,
        )
        return empty
    return {
        symbol: [price for price in map(_price_of, entries) if price is not None]
        for symbol, entries in zip(symbols, results, strict=True)
    }
