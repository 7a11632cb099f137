"""Quotes as the socket protocol carries them (decimals as strings, times in ISO 8601)."""

from decimal import Decimal

from .models import Quote


def _decimal(value: Decimal | None) -> str | None:
    if value is None:
        return None
    # "244.600000" -> "244.6": the client formats with price_hint anyway.
    text = format(value.normalize(), "f")
    return text


def quote_payload(quote: Quote) -> dict:
    return {
        "symbol": quote.symbol,
        "name": quote.name,
        "price": _decimal(quote.price),
        "change": _decimal(quote.change),
        "change_percent": _decimal(quote.change_percent),
        "previous_close": _decimal(quote.previous_close),
        "day_high": _decimal(quote.day_high),
        "day_low": _decimal(quote.day_low),
        "currency": quote.currency,
        "price_hint": quote.price_hint,
        "market_state": quote.market_state,
        "market_time": quote.market_time.isoformat() if quote.market_time else None,
        "fetched_at": quote.fetched_at.isoformat() if quote.fetched_at else None,
        "unknown": quote.unknown,
        "source": quote.source,
    }
