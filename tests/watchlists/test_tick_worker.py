"""The tick task through the real Redis broker and a real Celery worker."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from config.celery import app
from prices.models import Quote
from watchlists import presence
from watchlists.groups import watchlist_group
from watchlists.tasks import quotes_tick

from .listening import GroupListener

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as running:
        yield running


@pytest.fixture
def open_list(user, make_watchlist):
    watchlist = make_watchlist(user, "Live", ["AAPL", "MSFT"])
    async_to_sync(presence.presence_touch)(watchlist_id=watchlist.pk, socket_id="test.viewer")
    return watchlist


def test_a_queued_tick_reaches_open_pages(fake_yahoo, worker, open_list):
    listener = GroupListener(watchlist_group(open_list.pk))
    try:
        quotes_tick.delay()
        [message] = listener.drain(timeout=15)
    finally:
        listener.close()
    assert message["type"] == "quotes"
    assert {q["symbol"] for q in message["quotes"]} == {"AAPL", "MSFT"}
    assert fake_yahoo.count("/v7/finance/quote") == 1
    assert Quote.objects.count() == 2


def test_expired_ticks_are_not_replayed(fake_yahoo, worker, open_list):
    # Ticks that waited in the queue past their interval are dropped by the
    # worker; the fresh one queued after them runs, so the worker was there.
    listener = GroupListener(watchlist_group(open_list.pk))
    try:
        past = timezone.now() - timedelta(seconds=1)
        for _ in range(3):
            quotes_tick.apply_async(expires=past)
        quotes_tick.apply_async(expires=30)
        assert len(listener.drain(timeout=15)) == 1
    finally:
        listener.close()
    assert fake_yahoo.count("/v7/finance/quote") == 1
