"""Nothing lost: concurrent edits of one watchlist keep every symbol exactly once."""

import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from django.urls import reverse

from tests.support.admin_forms import watchlist_change_data
from watchlists import services
from watchlists.models import Watchlist, WatchlistItem
from watchlists.selectors import watchlist_symbols

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(function, arguments, workers=8):
    def run(argument):
        try:
            return function(argument)
        finally:
            close_old_connections()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, arguments))


def add(watchlist_id):
    def attempt(symbol):
        try:
            services.watchlist_symbol_add(watchlist=Watchlist.objects.get(pk=watchlist_id), symbol=symbol)
        except ValidationError as error:
            return error.messages[0]
        return "added"

    return attempt


def test_many_tabs_adding_the_same_symbols_keep_each_once(watchlist):
    outcomes = in_threads(add(watchlist.pk), ["NVDA", "TSLA", "AMD", "INTC"] * 5)
    assert outcomes.count("added") == 4
    assert all(o == "added" or o.endswith("is already on this watchlist.") for o in outcomes)
    assert sorted(watchlist_symbols(watchlist_id=watchlist.pk)) == ["AAPL", "AMD", "INTC", "MSFT", "NVDA", "TSLA"]


def test_concurrent_adds_never_pass_the_limit(watchlist, settings):
    settings.WATCHLIST_MAX_SYMBOLS = 10
    outcomes = in_threads(add(watchlist.pk), [f"C{i}" for i in range(20)])
    assert outcomes.count("added") == 8
    assert len(watchlist_symbols(watchlist_id=watchlist.pk)) == 10
    assert all(o == "added" or "the most it can hold" in o for o in outcomes)


def test_adds_and_removes_from_two_tabs_interleave_cleanly(watchlist):
    services.watchlist_symbol_add(watchlist=watchlist, symbol="NVDA")
    items = {item.symbol: item.pk for item in watchlist.items.all()}

    def edit(step):
        kind, value = step
        fresh = Watchlist.objects.get(pk=watchlist.pk)
        if kind == "add":
            with contextlib.suppress(ValidationError):  # the other tab added it first
                services.watchlist_symbol_add(watchlist=fresh, symbol=value)
        else:
            with contextlib.suppress(WatchlistItem.DoesNotExist):  # the other tab removed it first
                services.watchlist_symbol_remove(watchlist=fresh, item_id=value)

    in_threads(
        edit,
        [
            ("add", "TSLA"),
            ("remove", items["MSFT"]),
            ("add", "TSLA"),
            ("remove", items["MSFT"]),
            ("add", "AMD"),
            ("add", "AMD"),
        ],
    )
    symbols = watchlist_symbols(watchlist_id=watchlist.pk)
    assert sorted(symbols) == ["AAPL", "AMD", "NVDA", "TSLA"]
    assert len(symbols) == len(set(symbols))


def test_a_stale_admin_form_cannot_duplicate_a_symbol_added_in_a_tab(client, make_user, watchlist):
    staff = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse("admin:watchlists_watchlist_change", args=[watchlist.pk])
    items = list(watchlist.items.all())  # what the admin page showed
    services.watchlist_symbol_add(watchlist=watchlist, symbol="TSLA")  # a tab, meanwhile
    data = watchlist_change_data(watchlist, items=items, new_symbols=["tsla"])
    response = client.post(url, data)
    assert response.status_code == 200
    assert "was added to this watchlist meanwhile" in response.content.decode()
    assert sorted(watchlist_symbols(watchlist_id=watchlist.pk)) == ["AAPL", "MSFT", "TSLA"]
