"""The shared token bucket that caps quote requests per minute across workers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prices.services import quotes_refresh
from prices.upstream_budget import upstream_tokens_take

ROOT = Path(__file__).resolve().parents[2]


def test_the_bucket_grants_up_to_its_capacity(settings):
    settings.QUOTE_UPSTREAM_REQUESTS_PER_MINUTE = 5
    assert upstream_tokens_take(source="yahoo", wanted=3) == 3
    assert upstream_tokens_take(source="yahoo", wanted=3) == 2
    assert upstream_tokens_take(source="yahoo", wanted=1) == 0
    # Sources have buckets of their own.
    assert upstream_tokens_take(source="other", wanted=1) == 1


def test_the_bucket_refills_with_time(settings):
    settings.QUOTE_UPSTREAM_REQUESTS_PER_MINUTE = 600  # 10 per second
    assert upstream_tokens_take(source="yahoo", wanted=600) == 600
    assert upstream_tokens_take(source="yahoo", wanted=1) == 0
    time.sleep(0.35)
    assert 2 <= upstream_tokens_take(source="yahoo", wanted=100) <= 5


BURN = """
import django, sys, time
django.setup()
from prices.upstream_budget import upstream_tokens_take
granted, deadline = 0, time.monotonic() + 1.5
while time.monotonic() < deadline:
    granted += upstream_tokens_take(source="yahoo", wanted=1)
print(granted)
"""


def test_two_workers_at_once_share_one_budget(settings):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "QUOTE_UPSTREAM_REQUESTS_PER_MINUTE": "10",
    }
    workers = [
        subprocess.Popen([sys.executable, "-c", BURN], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    granted = [int(worker.communicate(timeout=60)[0].strip()) for worker in workers]
    # 10 a minute refill 1 every 6 s: in 1.5 s both together get the 10, no more.
    assert sum(granted) == 10, granted


@pytest.mark.django_db
def test_refresh_fetches_only_what_the_budget_allows(fake_yahoo, settings):
    settings.QUOTE_UPSTREAM_REQUESTS_PER_MINUTE = 2
    symbols = [f"B{i:03d}" for i in range(150)]  # three batches of 50
    first = quotes_refresh(symbols=symbols)
    assert first.requests == 2
    assert fake_yahoo.count("/v7/finance/quote") == 2
    assert len({s for batch in fake_yahoo.requested_symbols for s in batch}) == 100
    second = quotes_refresh(symbols=symbols)
    assert second.skipped and second.requests == 0
    assert fake_yahoo.count("/v7/finance/quote") == 2
