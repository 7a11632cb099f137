"""Celery tasks: thin interfaces over watchlists.live."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections

from . import live

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, soft_time_limit=settings.QUOTE_TICK_TIME_LIMIT_SECONDS)
def quotes_tick() -> None:
    # A worker lives for days: drop connections the database has closed.
    close_old_connections()
    try:
        live.quotes_tick_run(from_beat=True)
    except SoftTimeLimitExceeded:
        logger.warning(
            "Tick abandoned after %.1f s (upstream or database too slow); nothing half-stored, next tick retries",
            settings.QUOTE_TICK_TIME_LIMIT_SECONDS,
        )
    finally:
        close_old_connections()


@shared_task(ignore_result=True, soft_time_limit=settings.QUOTE_TICK_TIME_LIMIT_SECONDS * 2)
def watchlist_refresh(watchlist_id: int) -> None:
    close_old_connections()
    try:
        live.watchlist_refresh_run(watchlist_id=watchlist_id)
    except SoftTimeLimitExceeded:
        logger.warning("Refresh of watchlist %s abandoned: upstream or database too slow", watchlist_id)
    finally:
        close_old_connections()
