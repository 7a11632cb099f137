"""Storing quotes: figures that cannot be prices never reach (or break) the database."""

from decimal import Decimal

import pytest

from prices.models import Quote
from prices.providers import QuoteData
from prices.services import quotes_store

pytestmark = pytest.mark.django_db


def test_a_price_too_large_for_the_column_is_ignored_not_a_crash():
    # Found by the property tests on PostgreSQL: 10**14 overflowed numeric(20, 6).
    changed = quotes_store(
        quotes=[
            QuoteData(symbol="HUGE", price=Decimal(10) ** 14),
            QuoteData(symbol="AAPL", price=Decimal("244.6"), change=Decimal(10) ** 15, volume=2**70),
        ],
        unknown=[],
        source="yahoo",
    )
    assert [quote.symbol for quote in changed] == ["AAPL"]
    aapl = Quote.objects.get(symbol="AAPL")
    assert aapl.price == Decimal("244.6") and aapl.change is None and aapl.volume is None
    assert not Quote.objects.filter(symbol="HUGE").exists()
