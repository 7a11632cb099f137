"""Part 5, the page: server time and queries to render a watchlist of 100 symbols.

In-process, with Django's test client (the whole middleware stack, session and
auth included) against this run's database and Redis; quotes and trend lines
come from the simulated provider through the real refresh service first.
"""

from __future__ import annotations

import statistics
import time


def run(*, renders: int, symbols: int = 100) -> dict:
    from django.test.utils import override_settings

    # Production settings otherwise; static URLs without a collectstatic manifest.
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        return _run(renders=renders, symbols=symbols)


def _run(*, renders: int, symbols: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.data import lists_create
    from prices.services import quotes_refresh

    symbol_list = [f"P{n:03d}" for n in range(symbols)]
    (access,) = lists_create(prefix="page-", symbol_lists=[symbol_list])
    for _ in range(3):  # a few points for each trend line
        quotes_refresh(symbols=symbol_list)
    user = get_user_model().objects.get(username="page-0")
    client = Client()
    client.force_login(user)
    url = f"/watchlists/{access.watchlist_id}/"
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    times, queries = [], []
    for _ in range(renders):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
    body = response.content
    return {
        "symbols": symbols,
        "renders": renders,
        "server_ms_median": round(statistics.median(times), 2),
        "server_ms_p90": round(sorted(times)[int(0.9 * (len(times) - 1))], 2),
        "server_ms_min": round(min(times), 2),
        "queries": max(queries),
        "queries_min": min(queries),
        "html_bytes": len(body),
        "rows_rendered": body.count(b'class="quote-row'),
        "database": connection.vendor,
    }
