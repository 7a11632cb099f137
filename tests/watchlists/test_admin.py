import pytest
from django.urls import reverse

from prices.models import Quote
from watchlists.models import Watchlist
from watchlists.selectors import watchlist_symbols

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, make_user):
    admin = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def inline_data(prefix="items", rows=(), initial=0, extra=None):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    data.update(extra or {})
    return data


def test_changelist_loads_with_search_and_filters(staff_client, watchlist, other_user, make_watchlist):
    make_watchlist(other_user, "Energy", ["XOM"])
    url = reverse("admin:watchlists_watchlist_changelist")
    response = staff_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tech" in html and "Energy" in html
    by_symbol = staff_client.get(url, {"q": "XOM"}).content.decode()
    assert "Energy" in by_symbol and ">Tech<" not in by_symbol
    by_owner = staff_client.get(url, {"q": "alice"}).content.decode()
    assert ">Tech<" in by_owner and "Energy" not in by_owner
    assert staff_client.get(url, {"enabled__exact": "0"}).status_code == 200


def test_add_page_saves_a_list_with_normalised_items(staff_client, user):
    url = reverse("admin:watchlists_watchlist_add")
    assert staff_client.get(url).status_code == 200
    data = inline_data(
        rows=[{"symbol": " aapl ", "position": "0"}, {"symbol": "^gspc", "position": "1"}],
        extra={"owner": str(user.pk), "name": "From admin", "enabled": "on"},
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Watchlist.objects.get(name="From admin")
    assert watchlist_symbols(watchlist_id=created.pk) == ["AAPL", "^GSPC"]


def test_inline_rejects_bad_symbols_and_saves_nothing(staff_client, user):
    url = reverse("admin:watchlists_watchlist_add")
    data = inline_data(
        rows=[{"symbol": "AAPL", "position": "0"}, {"symbol": "NOT OK", "position": "1"}],
        extra={"owner": str(user.pk), "name": "Broken", "enabled": "on"},
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "is not a valid symbol" in response.content.decode()
    assert not Watchlist.objects.filter(name="Broken").exists()


def test_inline_rejects_duplicate_symbols(staff_client, user):
    url = reverse("admin:watchlists_watchlist_add")
    data = inline_data(
        rows=[{"symbol": "AAPL", "position": "0"}, {"symbol": "aapl", "position": "1"}],
        extra={"owner": str(user.pk), "name": "Dupes", "enabled": "on"},
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert not Watchlist.objects.filter(name="Dupes").exists()


def test_change_page_loads_and_saves(staff_client, watchlist):
    url = reverse("admin:watchlists_watchlist_change", args=[watchlist.pk])
    assert staff_client.get(url).status_code == 200
    items = list(watchlist.items.all())
    rows = [
        {"id": str(item.pk), "watchlist": str(watchlist.pk), "symbol": item.symbol, "position": str(item.position)}
        for item in items
    ]
    rows.append({"symbol": "nvda", "position": "5"})
    data = inline_data(
        rows=rows,
        initial=len(items),
        extra={"owner": str(watchlist.owner_id), "name": "Tech renamed", "enabled": "on"},
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    watchlist.refresh_from_db()
    assert watchlist.name == "Tech renamed"
    assert watchlist_symbols(watchlist_id=watchlist.pk) == ["AAPL", "MSFT", "NVDA"]


def test_bulk_disable_and_enable(staff_client, watchlist):
    url = reverse("admin:watchlists_watchlist_changelist")
    staff_client.post(url, {"action": "disable_watchlists", "_selected_action": [watchlist.pk]})
    watchlist.refresh_from_db()
    assert watchlist.enabled is False
    staff_client.post(url, {"action": "enable_watchlists", "_selected_action": [watchlist.pk]})
    watchlist.refresh_from_db()
    assert watchlist.enabled is True


def test_quote_admin_is_read_only_and_shows_age(staff_client):
    quote = Quote.objects.create(symbol="AAPL", price="1.00")
    changelist = staff_client.get(reverse("admin:prices_quote_changelist"))
    assert changelist.status_code == 200
    assert " ago" in changelist.content.decode()
    assert staff_client.get(reverse("admin:prices_quote_add")).status_code == 403
    change_url = reverse("admin:prices_quote_change", args=[quote.pk])
    assert staff_client.get(change_url).status_code == 200
    staff_client.post(change_url, {"symbol": "AAPL", "price": "999"})
    quote.refresh_from_db()
    assert str(quote.price) == "1.000000"


def test_non_staff_cannot_open_the_admin(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:watchlists_watchlist_changelist"))
    assert response.status_code == 302
