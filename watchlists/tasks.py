"""Celery tasks: thin interfaces over watchlists.live.

A tick bounds itself: its fetch has a deadline inside QUOTE_TICK_TIME_LIMIT_SECONDS
(below the interval), Redis calls fail fast, and the upsert is one short
transaction. Celery's hard time limit is only the backstop for a tick stuck
anyway: the child is killed, its transaction rolls back, the lock expires.

No soft time limit: Celery raises it inside the child at whatever line is
running, and after a broker outage the parent's timer fires late, at a child
that has moved on. Our outage test saw that corrupt the pool's pipe and stop
the worker for good (UnpicklingError, "Unrecoverable error").
"""

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections

from . import live

# Backstop only; see the module docstring.
TICK_HARD_LIMIT_SECONDS = settings.QUOTE_TICK_TIME_LIMIT_SECONDS + 2


@shared_task(ignore_result=True, time_limit=TICK_HARD_LIMIT_SECONDS)
def quotes_tick() -> None:
    # A worker lives for days: drop connections the database has closed.
    close_old_connections()
    try:
        live.quotes_tick_run(from_beat=True)
    finally:
        close_old_connections()


@shared_task(ignore_result=True, time_limit=TICK_HARD_LIMIT_SECONDS + settings.QUOTE_POLL_SECONDS)
def watchlist_refresh(watchlist_id: int) -> None:
    close_old_connections()
    try:
        live.watchlist_refresh_run(watchlist_id=watchlist_id)
    finally:
        close_old_connections()
