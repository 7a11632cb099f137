"""Ticker symbols: one normal form and one alphabet, shared by every entry point.

Yahoo spells symbols with letters, digits and `.` `-` `^` `=`: `AAPL`, `BRK-B`,
`7203.T`, `^GSPC`, `EURUSD=X`, `BTC-USD`. Anything else cannot be a Yahoo
symbol, so it is refused before it reaches the database or the network.
"""

import re

from django.core.exceptions import ValidationError

SYMBOL_MAX_LENGTH = 20
# Kept in step with the database check constraints on prices.Quote and
# watchlists.WatchlistItem, which use the same pattern.
SYMBOL_PATTERN = r"^[A-Z0-9.^=-]{1,20}$"
_SYMBOL_RE = re.compile(SYMBOL_PATTERN)
_ALLOWED_HINT = "letters, digits and . - ^ = (for example AAPL, BRK-B, 7203.T, ^GSPC, EURUSD=X)"


def symbol_normalize(raw: object) -> str:
    """Return the canonical form of a user-typed symbol, or raise ValidationError."""
    if not isinstance(raw, str):
        raise ValidationError("Enter a ticker symbol.", code="symbol_required")
    symbol = raw.strip().upper()
    if not symbol:
        raise ValidationError("Enter a ticker symbol.", code="symbol_required")
    if len(symbol) > SYMBOL_MAX_LENGTH:
        raise ValidationError(
            "“%(shown)s…” is too long: a symbol has at most %(max)d characters.",
            code="symbol_too_long",
            params={"shown": symbol[:SYMBOL_MAX_LENGTH], "max": SYMBOL_MAX_LENGTH},
        )
    if not _SYMBOL_RE.match(symbol):
        raise ValidationError(
            "“%(symbol)s” is not a valid symbol: use %(hint)s.",
            code="symbol_invalid",
            params={"symbol": symbol, "hint": _ALLOWED_HINT},
        )
    return symbol


def symbol_is_valid(symbol: str) -> bool:
    """True when `symbol` is already in normal form."""
    return isinstance(symbol, str) and bool(_SYMBOL_RE.match(symbol))


def validate_symbol(value: str) -> None:
    """Model-field validator: the stored value must already be normalised."""
    if not symbol_is_valid(value):
        raise ValidationError(
            "“%(symbol)s” is not a valid symbol: use %(hint)s.",
            code="symbol_invalid",
            params={"symbol": value, "hint": _ALLOWED_HINT},
        )
