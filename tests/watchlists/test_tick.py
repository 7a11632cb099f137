"""The beat tick with the real Yahoo provider against a local fake Yahoo, and the real Redis layer."""

import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django.utils import timezone

from config.redis_client import redis_key, redis_sync
from prices.models import Quote
from prices.providers import provider_get
from watchlists import live, presence, services
from watchlists.groups import STATUS_GROUP, watchlist_group
from watchlists.tasks import quotes_tick

from .listening import GroupListener
from .viewing import view


@pytest.fixture
def listen():
    listeners = []

    def start(*groups):
        listeners.append(GroupListener(*groups))
        return listeners[-1]

    yield start
    for listener in listeners:
        listener.close()


pytestmark = pytest.mark.django_db(transaction=True)


def test_no_open_page_means_no_upstream_call(fake_yahoo, three_lists):
    report = live.quotes_tick_run()
    assert report.skipped == "idle"
    assert fake_yahoo.counts == {}
    assert not Quote.objects.exists()


def test_each_distinct_symbol_is_fetched_once_in_one_request(fake_yahoo, three_lists, listen):
    view(*three_lists)
    listener = listen(*[watchlist_group(w.pk) for w in three_lists])
    report = live.quotes_tick_run()

    assert fake_yahoo.count("/v7/finance/quote") == 1
    assert sorted(fake_yahoo.requested_symbols[0]) == ["AAPL", "EURUSD=X", "MSFT", "NVDA", "^GSPC"]
    assert report.symbols == 5 and report.upstream_requests == 1 and report.changed == 5
    assert Quote.objects.count() == 5

    messages = listener.drain()
    assert sorted(m["watchlist"] for m in messages) == sorted(w.pk for w in three_lists)  # one per list
    by_list = {m["watchlist"]: {q["symbol"] for q in m["quotes"]} for m in messages}
    assert by_list[three_lists[0].pk] == {"AAPL", "MSFT", "NVDA"}
    assert by_list[three_lists[2].pk] == {"NVDA", "^GSPC", "EURUSD=X"}


def test_viewer_count_does_not_change_upstream_calls(fake_yahoo, three_lists):
    view(*three_lists)
    live.quotes_tick_run()
    one_viewer = fake_yahoo.counts
    fake_yahoo.reset_counts()
    for n in range(50):
        async_to_sync(presence.presence_touch)(watchlist_id=three_lists[0].pk, socket_id=f"crowd.{n}")
    live.quotes_tick_run()
    assert fake_yahoo.count("/v7/finance/quote") == one_viewer["/v7/finance/quote"] == 1


def test_only_open_enabled_lists_are_fetched(fake_yahoo, three_lists):
    one, two, _ = three_lists
    services.watchlists_set_enabled(watchlist_ids=[two.pk], enabled=False)
    view(one, two)  # three is not open anywhere
    live.quotes_tick_run()
    assert sorted(fake_yahoo.requested_symbols[0]) == ["AAPL", "MSFT", "NVDA"]


def test_batches_hold_at_most_fifty_symbols(fake_yahoo, user, make_watchlist):
    first = make_watchlist(user, "A", [f"S{i}" for i in range(60)])
    second = make_watchlist(user, "B", [f"S{i}" for i in range(40, 120)])
    view(first, second)
    report = live.quotes_tick_run()
    batches = fake_yahoo.requested_symbols
    assert [len(batch) for batch in batches] == [50, 50, 20]
    assert len({s for batch in batches for s in batch}) == 120
    assert report.upstream_requests == 3


def test_only_changed_quotes_are_stored_and_published(fake_yahoo, user, make_watchlist, listen):
    watchlist = make_watchlist(user, "Fixed", ["AAPL", "MSFT"])
    fake_yahoo.set_quote("AAPL", price=244.6, previous_close=241.53)
    fake_yahoo.set_quote("MSFT", price=410.0, previous_close=400.0)
    view(watchlist)
    listener = listen(watchlist_group(watchlist.pk))
    live.quotes_tick_run()
    assert len(listener.drain()) == 1
    before = Quote.objects.get(symbol="AAPL").fetched_at

    report = live.quotes_tick_run()
    assert report.changed == 0 and report.published == 0
    assert listener.drain(timeout=0.5) == []
    # Confirmed, though unchanged: the page and the cadence know it is fresh.
    assert Quote.objects.get(symbol="AAPL").fetched_at > before

    fake_yahoo.set_quote("MSFT", price=411.25, previous_close=400.0)
    report = live.quotes_tick_run()
    [message] = listener.drain()
    assert [q["symbol"] for q in message["quotes"]] == ["MSFT"]
    assert message["quotes"][0]["price"] == "411.25"
    assert report.changed == 1


def test_closed_markets_are_polled_rarely(fake_yahoo, user, make_watchlist, settings):
    watchlist = make_watchlist(user, "Mixed", ["AAPL", "7203.T"])
    fake_yahoo.set_quote("AAPL", price=244.6, market_state="REGULAR")
    fake_yahoo.set_quote("7203.T", price=2800, market_state="CLOSED", currency="JPY", price_hint=0)
    view(watchlist)
    live.quotes_tick_run()
    fake_yahoo.reset_counts()

    live.quotes_tick_run()
    assert fake_yahoo.requested_symbols == [["AAPL"]]

    fake_yahoo.reset_counts()
    Quote.objects.filter(symbol="7203.T").update(
        fetched_at=timezone.now() - timedelta(seconds=settings.QUOTE_CLOSED_POLL_SECONDS + 1)
    )
    live.quotes_tick_run()
    assert sorted(fake_yahoo.requested_symbols[0]) == ["7203.T", "AAPL"]


def test_every_market_closed_means_no_upstream_call(fake_yahoo, user, make_watchlist):
    watchlist = make_watchlist(user, "Night", ["AAPL", "MSFT"])
    for symbol in ("AAPL", "MSFT"):
        fake_yahoo.set_quote(symbol, price=100, market_state="CLOSED")
    view(watchlist)
    live.quotes_tick_run()
    fake_yahoo.reset_counts()
    for _ in range(3):
        live.quotes_tick_run()
    assert fake_yahoo.counts == {}


def test_unknown_symbols_are_stored_as_unknown(fake_yahoo, user, make_watchlist, client):
    watchlist = make_watchlist(user, "Typos", ["AAPL", "ZZZZZ"])
    fake_yahoo.unknown_symbols.add("ZZZZZ")
    view(watchlist)
    report = live.quotes_tick_run()
    assert report.unknown == 1
    assert Quote.objects.get(symbol="ZZZZZ").unknown is True
    assert Quote.objects.get(symbol="AAPL").unknown is False
    client.force_login(user)
    html = client.get(f"/watchlists/{watchlist.pk}/").content.decode()
    assert "Unknown symbol" in html


def test_a_held_lock_skips_the_tick(fake_yahoo, three_lists):
    view(*three_lists)
    held = redis_sync().lock(redis_key("lock", "quotes-tick"), timeout=30)
    assert held.acquire(blocking=False)
    try:
        report = live.quotes_tick_run()
    finally:
        held.release()
    assert report.skipped == "locked"
    assert fake_yahoo.counts == {}
    assert live.quotes_tick_run().upstream_requests == 1


def test_rate_limit_backs_off_keeps_quotes_and_tells_pages(fake_yahoo, user, make_watchlist, listen):
    watchlist = make_watchlist(user, "Busy", ["AAPL"])
    view(watchlist)
    live.quotes_tick_run()
    kept = Quote.objects.get(symbol="AAPL").price

    status_listener = listen(STATUS_GROUP)
    fake_yahoo.mode = "rate_limit"
    report = live.quotes_tick_run()
    assert report.failure.startswith("rate_limited")
    assert report.source_state == "down"
    [status] = status_listener.drain()
    assert status["state"] == "down" and status["source"] == "yahoo" and status["retry_in"] > 10

    fake_yahoo.reset_counts()
    report = live.quotes_tick_run()
    assert report.failure == "backing off"
    assert fake_yahoo.counts == {}  # never retry hard
    assert Quote.objects.get(symbol="AAPL").price == kept


def test_recovery_after_backoff(fake_yahoo, user, make_watchlist, redis_clean, listen):
    watchlist = make_watchlist(user, "Flaky", ["AAPL"])
    view(watchlist)
    fake_yahoo.mode = "html"
    assert live.quotes_tick_run().source_state == "degraded"
    fake_yahoo.mode = "ok"
    redis_clean.hset(redis_key("source", "yahoo"), "retry_at", 0)  # the backoff has run out
    status_listener = listen(STATUS_GROUP)
    report = live.quotes_tick_run()
    assert report.source_state == "ok" and report.changed == 1
    assert status_listener.drain()[0]["state"] == "ok"


def test_presence_expires_without_heartbeat(three_lists, fake_yahoo):
    view(three_lists[0])
    later = time.time() + django_settings.PRESENCE_TTL_SECONDS + 1
    assert presence.watchlists_viewed() == {three_lists[0].pk: 1}
    assert presence.watchlists_viewed(now=later) == {}


def test_refresh_requests_are_debounced(three_lists, monkeypatch):
    sent = []
    monkeypatch.setattr("watchlists.tasks.watchlist_refresh.apply_async", lambda *a, **k: sent.append(a))
    results = [live.watchlist_refresh_request(watchlist_id=three_lists[0].pk) for _ in range(100)]
    assert results.count(True) == 1
    assert len(sent) == 1


def test_refresh_fetches_a_newly_opened_list_and_tells_other_lists(fake_yahoo, three_lists, listen):
    one, two, _ = three_lists
    view(two)
    listener = listen(watchlist_group(one.pk), watchlist_group(two.pk))
    report = live.watchlist_refresh_run(watchlist_id=one.pk)
    # The new list and the lists already open: the third list has no viewer.
    assert sorted(fake_yahoo.requested_symbols[0]) == ["AAPL", "MSFT", "NVDA", "^GSPC"]
    assert report.upstream_requests == 1
    messages = {m["watchlist"]: {q["symbol"] for q in m["quotes"]} for m in listener.drain()}
    assert messages[one.pk] == {"AAPL", "MSFT", "NVDA"}
    assert messages[two.pk] >= {"MSFT", "NVDA"}


def test_schedule_never_replays_and_task_stops_before_the_next_tick():
    entry = django_settings.CELERY_BEAT_SCHEDULE["quotes-tick"]
    interval = django_settings.QUOTE_POLL_SECONDS
    assert entry["schedule"] == interval
    assert 0 < entry["options"]["expires"] <= interval
    # The tick's own budget (the fetch deadline) is below the interval; the
    # hard limit is the backstop that kills a child stuck past it.
    assert interval > django_settings.QUOTE_TICK_TIME_LIMIT_SECONDS
    assert quotes_tick.time_limit <= django_settings.QUOTE_TICK_TIME_LIMIT_SECONDS + 2


def test_a_yahoo_fetch_ends_inside_the_ticks_budget(fake_yahoo):
    provider = provider_get()
    assert provider.name == "yahoo"
    assert provider.timeout < django_settings.QUOTE_TICK_TIME_LIMIT_SECONDS


def test_a_second_beat_does_not_double_the_ticks(fake_yahoo, three_lists, settings):
    settings.QUOTE_POLL_SECONDS = 1
    view(*three_lists)
    first = live.quotes_tick_run(from_beat=True)
    second = live.quotes_tick_run(from_beat=True)  # another beat, a moment later
    assert first.upstream_requests == 1
    assert second.skipped == "duplicate"
    assert fake_yahoo.count("/v7/finance/quote") == 1
    time.sleep(django_settings.QUOTE_POLL_SECONDS * 0.8 + 0.1)
    assert live.quotes_tick_run(from_beat=True).upstream_requests == 1
