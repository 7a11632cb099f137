"""Tick figures in /metrics, the recent-ticks list and the tick's log line, against real Redis and the database."""

import json
import logging

import pytest
from django.test import Client

from config.log_format import JsonFormatter
from config.metrics import metrics_render
from config.redis_client import redis_key, redis_sync
from tests.support.scrape import sample, samples_parse
from watchlists import live
from watchlists.monitoring import TICK_HISTORY_LENGTH, tick_recorded, ticks_recent

from .viewing import view

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "tick-figures-token"


def scrape(settings) -> dict:
    settings.METRICS_TOKEN = TOKEN
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return samples_parse(response.content.decode())


def test_a_tick_and_its_upstream_request_show_in_metrics(fake_yahoo, three_lists, settings):
    view(three_lists[0], viewers=2)
    view(*three_lists[1:])
    report = live.quotes_tick_run()
    assert report.upstream_requests == 1

    samples = scrape(settings)
    assert sample(samples, "tickerwatch_ticks_run_total", kind="tick") == 1
    assert sample(samples, "tickerwatch_upstream_requests_total", source="yahoo") == 1
    assert sample(samples, "tickerwatch_upstream_fetch_duration_seconds_count", source="yahoo") == 1
    assert sample(samples, "tickerwatch_tick_duration_seconds_count", kind="tick") == 1
    assert sample(samples, "tickerwatch_tick_symbols", kind="tick") == 5
    assert sample(samples, "tickerwatch_quotes_changed_total") == 5
    assert sample(samples, "tickerwatch_group_messages_published_total") == 3
    assert sample(samples, "tickerwatch_tick_last_run_timestamp_seconds", kind="tick") > 0
    # From presence and the database at scrape time.
    assert sample(samples, "tickerwatch_sockets_open") == 4
    assert sample(samples, "tickerwatch_watchlists_viewed") == 3
    assert sample(samples, "tickerwatch_watchlists_active") == 3
    assert sample(samples, "tickerwatch_watched_symbols") == 5
    assert sample(samples, "tickerwatch_watched_symbols_unquoted") == 0
    ages = [
        sample(samples, "tickerwatch_quote_age_max_seconds", market=market)
        for market in ("open", "closed")
        if sample(samples, "tickerwatch_quote_age_max_seconds", market=market) is not None
    ]
    assert ages and all(0 <= age < 10 for age in ages)
    assert sample(samples, "tickerwatch_source_state", source="yahoo", state="ok") == 1
    assert sample(samples, "tickerwatch_source_state", source="yahoo", state="down") == 0


def test_skipped_ticks_are_counted_by_reason(fake_yahoo, user, make_watchlist, settings):
    watchlist = make_watchlist(user, "Busy", ["AAPL"])
    assert live.quotes_tick_run().skipped == "idle"

    view(watchlist)
    held = redis_sync().lock(redis_key("lock", "quotes-tick"), timeout=30)
    assert held.acquire(blocking=False)
    try:
        assert live.quotes_tick_run().skipped == "locked"
    finally:
        held.release()

    settings.QUOTE_POLL_SECONDS = 30
    assert live.quotes_tick_run(from_beat=True).upstream_requests == 1
    assert live.quotes_tick_run(from_beat=True).skipped == "duplicate"

    fake_yahoo.mode = "rate_limit"
    assert live.quotes_tick_run().failure.startswith("rate_limited")
    assert live.quotes_tick_run().failure == "backing off"

    samples = scrape(settings)
    for reason in ("idle", "locked", "duplicate", "backoff"):
        assert sample(samples, "tickerwatch_ticks_skipped_total", kind="tick", reason=reason) == 1, reason
    assert sample(samples, "tickerwatch_ticks_run_total", kind="tick") == 2
    assert sample(samples, "tickerwatch_upstream_errors_total", source="yahoo", kind="rate_limited") == 1
    assert sample(samples, "tickerwatch_upstream_requests_total", source="yahoo") == 2
    assert sample(samples, "tickerwatch_source_state", source="yahoo", state="down") == 1
    assert sample(samples, "tickerwatch_source_state", source="yahoo", state="ok") == 0
    assert sample(samples, "tickerwatch_source_retry_in_seconds", source="yahoo") > 0


def test_a_tick_that_raises_is_counted_and_still_raises(settings):
    @tick_recorded(kind="tick")
    def broken():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        broken()
    assert sample(scrape(settings), "tickerwatch_ticks_failed_total", kind="tick") == 1


def test_the_scrape_costs_the_same_queries_however_many_lists_are_open(
    fake_yahoo, user, make_watchlist, settings, django_assert_num_queries
):
    settings.METRICS_TOKEN = TOKEN
    lists = [make_watchlist(user, f"L{n}", [f"S{n}", "AAPL"]) for n in range(6)]
    view(lists[0])
    live.quotes_tick_run()
    with django_assert_num_queries(3):
        metrics_render()
    view(*lists[1:], viewers=3)
    live.quotes_tick_run()
    with django_assert_num_queries(3):
        samples = samples_parse(metrics_render().decode())
    assert sample(samples, "tickerwatch_watchlists_active") == 6
    assert sample(samples, "tickerwatch_watched_symbols") == 7


def test_recent_ticks_keep_the_last_twenty_that_did_something(fake_yahoo, user, make_watchlist):
    watchlist = make_watchlist(user, "Busy", ["AAPL"])
    live.quotes_tick_run()  # idle: not kept
    assert ticks_recent() == []
    view(watchlist)
    for _ in range(TICK_HISTORY_LENGTH + 5):
        live.quotes_tick_run()
    recent = ticks_recent()
    assert len(recent) == TICK_HISTORY_LENGTH
    assert recent[0]["at"] >= recent[-1]["at"]
    assert {tick["kind"] for tick in recent} == {"tick"}
    assert all(tick["active_lists"] == 1 and tick["upstream_requests"] == 1 for tick in recent)
    assert redis_sync().llen(redis_key("ticks", "recent")) == TICK_HISTORY_LENGTH


def test_the_tick_log_line_in_plain_and_json(fake_yahoo, three_lists, caplog):
    view(*three_lists)
    with caplog.at_level(logging.INFO, logger="watchlists.live"):
        live.quotes_tick_run()
    [record] = [r for r in caplog.records if r.getMessage().startswith("Tick:")]

    plain = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert plain.startswith("INFO watchlists.live: Tick: kind=tick active_lists=3 symbols=5 due=5 upstream_requests=1")
    assert "published=3" in plain and "duration_ms=" in plain

    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "watchlists.live"
    assert entry["message"].startswith("Tick: kind=tick")
    assert entry["time"].endswith("+00:00")
    tick = entry["tick"]
    assert tick["active_lists"] == 3 and tick["symbols"] == 5 and tick["upstream_requests"] == 1
    assert tick["changed"] == 5 and tick["published"] == 3 and isinstance(tick["duration_ms"], int)
    assert "changed_symbols" not in tick


def test_idle_ticks_log_at_debug_only(user, make_watchlist, caplog):
    make_watchlist(user, "Nobody looks", ["AAPL"])
    with caplog.at_level(logging.DEBUG, logger="watchlists.live"):
        live.quotes_tick_run()
    levels = {r.levelno for r in caplog.records if r.name == "watchlists.live"}
    assert levels == {logging.DEBUG}
