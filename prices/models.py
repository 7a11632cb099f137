from django.db import models
from django.db.models import Q
from django.utils import timezone

from .symbols import SYMBOL_MAX_LENGTH, SYMBOL_PATTERN, validate_symbol


class MarketState(models.TextChoices):
    # Yahoo's own vocabulary, so no information is lost in translation.
    # PREPRE and POSTPOST: extended hours are over, so to a viewer "Closed".
    PREPRE = "PREPRE", "Closed"
    PRE = "PRE", "Pre-market"
    REGULAR = "REGULAR", "Open"
    POST = "POST", "After hours"
    POSTPOST = "POSTPOST", "Closed"
    CLOSED = "CLOSED", "Closed"
    UNKNOWN = "UNKNOWN", "Unknown"

    @classmethod
    def is_trading(cls, state: str) -> bool:
        """Whether prices can move now: pre-market, regular or after-hours session.

        PREPRE and POSTPOST are Yahoo's "extended hours are over" states: the
        price is as final as when CLOSED, so they poll at the closed cadence.
        UNKNOWN polls like an open market rather than risk a frozen price.
        """
        return state in {cls.PRE, cls.REGULAR, cls.POST, cls.UNKNOWN}


class Quote(models.Model):
    """The latest quote known for one symbol, shared by every watchlist."""

    symbol = models.CharField(max_length=SYMBOL_MAX_LENGTH, unique=True, validators=[validate_symbol])
    # True when the source answered but does not know the symbol.
    unknown = models.BooleanField(default=False)
    source = models.CharField(max_length=20, default="yahoo")

    name = models.CharField(max_length=200, blank=True)
    exchange = models.CharField(max_length=50, blank=True)
    quote_type = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=10, blank=True)

    price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    previous_close = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    change = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    change_percent = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    day_high = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    day_low = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    volume = models.BigIntegerField(null=True, blank=True)
    # Decimals to display, as Yahoo advises for this instrument.
    price_hint = models.PositiveSmallIntegerField(default=2)

    market_state = models.CharField(max_length=10, choices=MarketState.choices, default=MarketState.UNKNOWN)
    market_time = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=Q(symbol__regex=SYMBOL_PATTERN), name="quote_symbol_format"),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gte=0), name="quote_price_not_negative"),
            models.CheckConstraint(condition=Q(price_hint__lte=10), name="quote_price_hint_sane"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.price if self.price is not None else '—'} {self.currency}".strip()

    @property
    def age_seconds(self) -> float:
        return (timezone.now() - self.fetched_at).total_seconds()
