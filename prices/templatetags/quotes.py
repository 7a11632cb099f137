"""Quote formatting for the first paint; static/js/ticker.js formats the same way live."""

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.html import format_html

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


# The trend line's drawing box; static/js/ticker.js (sparklineShape) draws the same.
SPARK_WIDTH = 80
SPARK_HEIGHT = 24
SPARK_PAD = 2


def _coordinate(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _sparkline_values(prices) -> list[float]:
    values = []
    for price in prices or ():
        try:
            value = float(Decimal(str(price)))
        except (InvalidOperation, ValueError):
            continue
        if math.isfinite(value):
            values.append(value)
    return values


def sparkline_shape(prices) -> dict | None:
    """Polyline points, direction and label for a series of prices (oldest first); None below two points."""
    values = _sparkline_values(prices)
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    step = SPARK_WIDTH / (len(values) - 1)
    span = SPARK_HEIGHT - 2 * SPARK_PAD

    def y(value: float) -> float:
        # Higher prices draw higher; a flat series runs through the middle.
        return SPARK_HEIGHT / 2 if high == low else SPARK_PAD + span * (high - value) / (high - low)

    points = " ".join(f"{_coordinate(i * step)},{_coordinate(y(value))}" for i, value in enumerate(values))
    first, last = values[0], values[-1]
    trend = "flat" if last == first else "up" if last > first else "down"
    if trend == "flat":
        label = "Recent trend: flat"
    elif first == 0:
        label = f"Recent trend: {trend}"
    else:
        percent = f"{abs(last - first) / abs(first) * 100:.2f}"
        label = f"Recent trend: {trend} {'under 0.01' if percent == '0.00' else percent}%"
    return {"points": points, "trend": trend, "label": label}


@register.simple_tag
def sparkline(prices) -> str:
    """An inline SVG trend line for the prices, or nothing when there are fewer than two."""
    shape = sparkline_shape(prices)
    if shape is None:
        return ""
    return format_html(
        '<svg class="spark spark--{}" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" aria-label="{}">'
        '<polyline points="{}" fill="none" vector-effect="non-scaling-stroke"></polyline></svg>',
        shape["trend"],
        SPARK_WIDTH,
        SPARK_HEIGHT,
        shape["label"],
        shape["points"],
    )
