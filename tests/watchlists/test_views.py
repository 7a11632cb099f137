from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prices.models import Quote
from watchlists.models import Watchlist, WatchlistItem
from watchlists.selectors import watchlist_symbols

pytestmark = pytest.mark.django_db


def symbols_of(watchlist):
    return watchlist_symbols(watchlist_id=watchlist.pk)


# Every URL that names a watchlist, with the method and data that exercise it.
def watchlist_urls(watchlist):
    item = watchlist.items.first()
    return [
        ("get", reverse("watchlists:detail", args=[watchlist.pk]), {}),
        ("post", reverse("watchlists:rename", args=[watchlist.pk]), {"name": "Hijacked"}),
        ("get", reverse("watchlists:delete", args=[watchlist.pk]), {}),
        ("post", reverse("watchlists:delete", args=[watchlist.pk]), {}),
        ("post", reverse("watchlists:symbol_add", args=[watchlist.pk]), {"symbol": "EVIL"}),
        ("post", reverse("watchlists:symbol_remove", args=[watchlist.pk, item.pk]), {}),
        ("post", reverse("watchlists:symbol_move", args=[watchlist.pk, item.pk]), {"direction": "down"}),
    ]


def test_anonymous_is_sent_to_login_everywhere(client, watchlist):
    for method, url, data in [*watchlist_urls(watchlist), ("get", reverse("watchlists:list"), {})]:
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]
    assert Watchlist.objects.get(pk=watchlist.pk).name == "Tech"


def test_another_user_gets_404_for_every_read_and_write(client, other_user, watchlist):
    client.force_login(other_user)
    for method, url, data in watchlist_urls(watchlist):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)
    watchlist.refresh_from_db()
    assert watchlist.name == "Tech"
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]


def test_unknown_watchlist_is_404(owner_client):
    assert owner_client.get(reverse("watchlists:detail", args=[999999])).status_code == 404
    assert owner_client.get("/watchlists/not-a-number/").status_code == 404


def test_list_page_shows_only_my_lists(owner_client, watchlist, other_user, make_watchlist):
    make_watchlist(other_user, "Secret plans", ["TSLA"])
    response = owner_client.get(reverse("watchlists:list"))
    assert response.status_code == 200
    assert b"Tech" in response.content
    assert b"Secret plans" not in response.content


def test_create_a_watchlist(owner_client, user):
    response = owner_client.post(reverse("watchlists:list"), {"name": "Dividends"})
    created = Watchlist.objects.get(owner=user, name="Dividends")
    assert response.status_code == 302
    assert response.url == reverse("watchlists:detail", args=[created.pk])


def test_create_with_a_duplicate_name_shows_the_error(owner_client, watchlist):
    response = owner_client.post(reverse("watchlists:list"), {"name": "tech"})
    assert response.status_code == 200
    assert "You already have a watchlist called" in response.content.decode()
    assert Watchlist.objects.count() == 1


def test_detail_shows_quotes_and_no_quote_yet(owner_client, watchlist):
    Quote.objects.create(
        symbol="AAPL",
        name="Apple Inc.",
        price=Decimal("244.6"),
        change=Decimal("3.0700073"),
        change_percent=Decimal("1.2710667"),
        currency="USD",
        market_state="REGULAR",
    )
    response = owner_client.get(reverse("watchlists:detail", args=[watchlist.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "244.60" in html
    assert "+3.07" in html
    assert "+1.27%" in html
    assert "Apple Inc." in html
    assert "No quote yet" in html  # MSFT has none
    assert 'data-symbol="MSFT"' in html


def test_detail_marks_unknown_symbols(owner_client, watchlist):
    Quote.objects.create(symbol="MSFT", unknown=True)
    html = owner_client.get(reverse("watchlists:detail", args=[watchlist.pk])).content.decode()
    assert "Unknown symbol" in html
    assert "Not found" in html


def test_add_symbol(owner_client, watchlist):
    response = owner_client.post(reverse("watchlists:symbol_add", args=[watchlist.pk]), {"symbol": " nvda "})
    assert response.status_code == 302
    assert symbols_of(watchlist) == ["AAPL", "MSFT", "NVDA"]


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("AA PL", "is not a valid symbol"),
        ("", "Enter a ticker symbol"),
        ("X" * 30, "too long"),
        ("aapl", "AAPL is already on this watchlist"),
    ],
)
def test_add_bad_symbol_is_a_form_error_not_a_500(owner_client, watchlist, symbol, message):
    response = owner_client.post(reverse("watchlists:symbol_add", args=[watchlist.pk]), {"symbol": symbol})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]


def test_add_symbol_missing_field_is_a_form_error(owner_client, watchlist):
    response = owner_client.post(reverse("watchlists:symbol_add", args=[watchlist.pk]), {})
    assert response.status_code == 200
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]


def test_add_symbol_over_the_limit_says_why(owner_client, watchlist, settings):
    settings.WATCHLIST_MAX_SYMBOLS = 2
    response = owner_client.post(reverse("watchlists:symbol_add", args=[watchlist.pk]), {"symbol": "NVDA"})
    assert response.status_code == 200
    assert "the most it can hold" in response.content.decode()


def test_remove_symbol(owner_client, watchlist):
    item = watchlist.items.get(symbol="AAPL")
    response = owner_client.post(reverse("watchlists:symbol_remove", args=[watchlist.pk, item.pk]))
    assert response.status_code == 302
    assert symbols_of(watchlist) == ["MSFT"]


def test_remove_needs_post(owner_client, watchlist):
    item = watchlist.items.get(symbol="AAPL")
    response = owner_client.get(reverse("watchlists:symbol_remove", args=[watchlist.pk, item.pk]))
    assert response.status_code == 405
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]


def test_remove_an_item_of_my_other_list_through_this_list_is_404(owner_client, user, watchlist, make_watchlist):
    other = make_watchlist(user, "Other", ["TSLA"])
    response = owner_client.post(reverse("watchlists:symbol_remove", args=[watchlist.pk, other.items.get().pk]))
    assert response.status_code == 404
    assert symbols_of(other) == ["TSLA"]


def test_move_symbol(owner_client, watchlist):
    item = watchlist.items.get(symbol="AAPL")
    owner_client.post(reverse("watchlists:symbol_move", args=[watchlist.pk, item.pk]), {"direction": "down"})
    assert symbols_of(watchlist) == ["MSFT", "AAPL"]
    response = owner_client.post(
        reverse("watchlists:symbol_move", args=[watchlist.pk, item.pk]), {"direction": "sideways"}
    )
    assert response.status_code == 302
    assert symbols_of(watchlist) == ["MSFT", "AAPL"]


def test_rename(owner_client, watchlist):
    response = owner_client.post(reverse("watchlists:rename", args=[watchlist.pk]), {"name": "Semis"})
    assert response.status_code == 302
    watchlist.refresh_from_db()
    assert watchlist.name == "Semis"


def test_rename_to_blank_is_an_error(owner_client, watchlist):
    response = owner_client.post(reverse("watchlists:rename", args=[watchlist.pk]), {"name": ""})
    assert response.status_code == 200
    watchlist.refresh_from_db()
    assert watchlist.name == "Tech"


def test_delete_asks_then_deletes(owner_client, watchlist):
    url = reverse("watchlists:delete", args=[watchlist.pk])
    confirm = owner_client.get(url)
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    assert Watchlist.objects.filter(pk=watchlist.pk).exists()
    response = owner_client.post(url)
    assert response.status_code == 302
    assert not Watchlist.objects.filter(pk=watchlist.pk).exists()
    assert not WatchlistItem.objects.filter(watchlist_id=watchlist.pk).exists()


def test_csrf_is_enforced(client, user, watchlist):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    response = csrf_client.post(reverse("watchlists:symbol_add", args=[watchlist.pk]), {"symbol": "NVDA"})
    assert response.status_code == 403
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]


def test_signup_logs_in_and_lands_on_my_watchlists(client):
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "password1": "a-long-unusual-pass-42", "password2": "a-long-unusual-pass-42"},
    )
    assert response.status_code == 302
    assert response.url == reverse("watchlists:list")
    assert client.get(reverse("watchlists:list")).status_code == 200


def test_signup_rejects_weak_passwords(client):
    response = client.post(reverse("signup"), {"username": "newbie", "password1": "123", "password2": "123"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()


def test_login_and_logout(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get(reverse("watchlists:list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("watchlists:list")).status_code == 302


def _detail_queries(client, watchlist) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("watchlists:detail", args=[watchlist.pk]))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_detail_query_count_does_not_grow_with_symbols(owner_client, user, make_watchlist):
    small = make_watchlist(user, "Small", ["AAPL"])
    symbols = [f"S{i}" for i in range(50)]
    big = make_watchlist(user, "Big", symbols)
    for symbol in ["AAPL", *symbols]:
        Quote.objects.get_or_create(symbol=symbol, defaults={"price": Decimal("1.5")})
    one = _detail_queries(owner_client, small)
    fifty = _detail_queries(owner_client, big)
    assert one == fifty
    assert fifty <= 6
