"""The admin's Live page: open lists and viewers, the last ticks and the source's state, for staff only."""

import pytest
from asgiref.sync import async_to_sync
from django.contrib import admin
from django.urls import reverse

from config.admin import TickerwatchAdminSite
from config.redis_client import redis_key
from watchlists import live, presence

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/admin/live/"


def view(watchlist, viewers: int = 1):
    for n in range(viewers):
        async_to_sync(presence.presence_touch)(watchlist_id=watchlist.pk, socket_id=f"test.{watchlist.pk}.{n}")


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_the_default_site_is_still_admin_site_and_serves_the_page():
    assert isinstance(admin.site, TickerwatchAdminSite)
    assert reverse("admin:live") == URL


def test_staff_see_open_lists_viewers_ticks_and_source(staff_client, fake_yahoo, user, other_user, make_watchlist):
    busy = make_watchlist(user, "Busy list", ["AAPL", "MSFT"])
    quiet = make_watchlist(other_user, "Quiet list", ["NVDA"])
    make_watchlist(user, "Closed list", ["TSLA"])
    view(busy, viewers=3)
    view(quiet)
    live.quotes_tick_run()

    response = staff_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="live-sockets">4</strong>' in html
    assert '<strong id="live-lists">2</strong>' in html
    assert "Busy list" in html and "Quiet list" in html and "Closed list" not in html
    assert html.index("Busy list") < html.index("Quiet list")  # most viewers first
    assert f'<tr data-watchlist="{busy.pk}">' in html
    assert '<td class="num" data-field="viewers">3</td>' in html
    assert reverse("admin:watchlists_watchlist_change", args=[busy.pk]) in html
    assert html.count('class="live-tick"') == 1
    assert "yahoo: ok" in html
    overview = response.context["overview"]
    assert [(row.watchlist.name, row.viewers) for row in overview.watchlists] == [("Busy list", 3), ("Quiet list", 1)]
    [tick] = overview.ticks
    assert tick["symbols"] == 3 and tick["upstream_requests"] == 1 and tick["published"] == 2


def test_a_source_that_is_down_shows_as_down_with_its_error(staff_client, fake_yahoo, user, make_watchlist):
    view(make_watchlist(user, "Busy", ["AAPL"]))
    fake_yahoo.mode = "rate_limit"
    live.quotes_tick_run()
    html = staff_client.get(URL).content.decode()
    assert "yahoo: down" in html
    assert "rate_limited" in html


def test_the_page_says_when_nothing_is_open(staff_client):
    html = staff_client.get(URL).content.decode()
    assert "No watchlist is open in a browser" in html
    assert "No tick has fetched anything recently" in html


def test_the_admin_index_links_to_it(staff_client):
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{URL}">Live</a>' in html
    assert "Watchlists" in html  # the apps are still listed


def test_non_staff_are_sent_to_the_admin_login(client, user):
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={URL}"


def test_queries_do_not_grow_with_open_lists(staff_client, user, make_watchlist, django_assert_num_queries):
    lists = [make_watchlist(user, f"L{n}", ["AAPL", f"S{n}"]) for n in range(8)]
    view(lists[0])
    with django_assert_num_queries(3):  # session, user, the open lists
        staff_client.get(URL)
    for watchlist in lists[1:]:
        view(watchlist, viewers=2)
    with django_assert_num_queries(3):
        response = staff_client.get(URL)
    assert len(response.context["overview"].watchlists) == 8


def test_the_page_works_with_an_expired_tick_history(staff_client, redis_clean):
    redis_clean.delete(redis_key("ticks", "recent"))
    assert staff_client.get(URL).status_code == 200
