"""Trend lines reach pages: in the socket's snapshot and in the server-rendered first paint."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from prices.models import Quote
from prices.sparklines import sparklines_record
from watchlists.live import watchlist_snapshot


def record(symbol: str, *prices: str) -> None:
    start = timezone.now()
    for step, price in enumerate(prices):
        sparklines_record(
            quotes=[Quote(symbol=symbol, price=Decimal(price), fetched_at=start + timedelta(seconds=step))]
        )


@pytest.mark.django_db(transaction=True)
def test_snapshot_carries_each_symbols_recent_prices(user, make_watchlist):
    watchlist = make_watchlist(user, "Mixed", ["AAPL", "^GSPC", "MSFT"])
    record("AAPL", "244.6", "245.1", "244.9")
    record("^GSPC", "5000")
    record("TSLA", "300", "301")  # not on this list

    snapshot, _ = watchlist_snapshot(watchlist_id=watchlist.pk)

    assert snapshot["sparklines"] == {"AAPL": ["244.6", "245.1", "244.9"], "^GSPC": ["5000"], "MSFT": []}


@pytest.mark.django_db(transaction=True)
def test_snapshot_without_redis_has_empty_trend_lines(user, make_watchlist, settings):
    watchlist = make_watchlist(user, "Mixed", ["AAPL"])
    record("AAPL", "1", "2")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    snapshot, _ = watchlist_snapshot(watchlist_id=watchlist.pk)

    assert snapshot["sparklines"] == {"AAPL": []}
    assert snapshot["symbols"] == ["AAPL"]


@pytest.mark.django_db
def test_detail_page_draws_a_trend_line_from_two_points(owner_client, user, make_watchlist):
    watchlist = make_watchlist(user, "Mixed", ["AAPL", "MSFT", "NVDA"])
    for symbol in ["AAPL", "MSFT", "NVDA"]:
        Quote.objects.create(symbol=symbol, price=Decimal("100"), currency="USD", market_state="REGULAR")
    record("AAPL", "100", "101")
    record("MSFT", "100")
    record("NVDA", "100", "99", "98")

    html = owner_client.get(reverse("watchlists:detail", args=[watchlist.pk])).content.decode()

    assert html.count('<svg class="spark') == 2
    assert '<svg class="spark spark--up"' in html
    assert 'aria-label="Recent trend: up 1.00%"' in html
    assert '<svg class="spark spark--down"' in html
    assert 'aria-label="Recent trend: down 2.00%"' in html
    assert ">Trend</th>" in html
    assert '"sparklinePoints": 60' in html


@pytest.mark.django_db
def test_detail_page_without_redis_still_renders(owner_client, user, make_watchlist, settings):
    watchlist = make_watchlist(user, "Mixed", ["AAPL"])
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    response = owner_client.get(reverse("watchlists:detail", args=[watchlist.pk]))

    assert response.status_code == 200
    assert '<svg class="spark' not in response.content.decode()


@pytest.mark.django_db
def test_sortable_headers_carry_buttons_and_aria_sort(owner_client, watchlist):
    html = owner_client.get(reverse("watchlists:detail", args=[watchlist.pk])).content.decode()
    for key, label in [("symbol", "Symbol"), ("price", "Price"), ("change_percent", "Change %")]:
        assert f'aria-sort="none" data-sort="{key}"><button type="button" class="sort">{label}</button></th>' in html
