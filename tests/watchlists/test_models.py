"""The rules hold in the database itself, not only in forms and services."""

import pytest
from django.db import IntegrityError, transaction

from prices.models import Quote
from watchlists.models import Watchlist, WatchlistItem

pytestmark = pytest.mark.django_db


def test_symbol_at_most_once_per_list(watchlist):
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchlistItem.objects.create(watchlist=watchlist, symbol="AAPL", position=9)


def test_same_symbol_on_two_lists_is_fine(user, make_watchlist):
    make_watchlist(user, "One", ["AAPL"])
    make_watchlist(user, "Two", ["AAPL"])
    assert WatchlistItem.objects.filter(symbol="AAPL").count() == 2


def test_list_name_unique_per_owner_ignoring_case(user):
    Watchlist.objects.create(owner=user, name="Tech")
    with pytest.raises(IntegrityError), transaction.atomic():
        Watchlist.objects.create(owner=user, name="TECH")


def test_two_owners_may_use_the_same_name(user, other_user):
    Watchlist.objects.create(owner=user, name="Tech")
    Watchlist.objects.create(owner=other_user, name="Tech")
    assert Watchlist.objects.filter(name="Tech").count() == 2


def test_blank_list_name_is_refused_by_the_database(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Watchlist.objects.create(owner=user, name="")


@pytest.mark.parametrize("symbol", ["aapl", "AA PL", "", "A$"])
def test_unnormalised_item_symbol_is_refused_by_the_database(watchlist, symbol):
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchlistItem.objects.create(watchlist=watchlist, symbol=symbol, position=5)


def test_quote_symbol_unique_and_formatted():
    Quote.objects.create(symbol="AAPL")
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.create(symbol="AAPL")
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.create(symbol="aapl")


def test_quote_price_cannot_be_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        Quote.objects.create(symbol="AAPL", price=-1)


def test_quote_prices_are_decimals():
    Quote.objects.create(symbol="AAPL", price="244.600000", change="3.070007")
    quote = Quote.objects.get(symbol="AAPL")
    assert str(quote.price) == "244.600000"
    assert str(quote.change) == "3.070007"


def test_deleting_a_list_deletes_its_items(watchlist):
    watchlist.delete()
    assert not WatchlistItem.objects.exists()
