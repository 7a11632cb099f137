"""Quote formatting for the first paint; static/js/ticker.js formats the same way live."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()

# Yahoo quotes some markets in a sub-unit (pence, agorot, cents of rand).
SUBUNIT_CURRENCIES = {"GBp": "GBX", "ILA": "ILA", "ZAc": "ZAc"}


@register.filter
def quote_number(value: Decimal | None, decimals: int = 2) -> str:
    """A price with Yahoo's decimals and thousands separators, or an em dash."""
    if value is None:
        return "—"
    decimals = max(0, min(int(decimals), 10))
    quantised = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{quantised:,.{decimals}f}"


@register.filter
def quote_signed(value: Decimal | None, decimals: int = 2) -> str:
    if value is None:
        return "—"
    text = quote_number(value, decimals)
    return text if text.startswith("-") else f"+{text}"


@register.filter
def quote_direction(value: Decimal | None) -> str:
    if value is None or value == 0:
        return "flat"
    return "up" if value > 0 else "down"
