"""Keeps the benchmark from rotting: the quick economy part runs and writes the figures it promises.

`make bench` is a benchmark, not a test; this runs its smallest part (the real
stack against a fake Yahoo, 1, 10 and 50 sockets, 3 one-second ticks each) in a subprocess.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

ROW_KEYS = {
    "scenario",
    "market",
    "sockets",
    "connected",
    "active_lists",
    "ticks",
    "distinct_due_per_tick",
    "ours_requests_per_tick",
    "ours_expected_per_tick",
    "per_socket",
    "per_watchlist_yfinance",
    "http_counts",
}


def test_quick_economy_run_writes_the_expected_figures(tmp_path, settings):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["REDIS_URL"] = settings.REDIS_URL
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "economy", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    figures = json.loads((tmp_path / "latest.json").read_text())
    assert {"machine", "started_at", "parts", "database"} <= set(figures)
    economy = figures["parts"]["economy"]
    assert {"rows", "yfinance_per_symbol", "ticks_per_window"} <= set(economy)
    assert economy["yfinance_per_symbol"]["warm"]["requests_per_symbol"] >= 1
    rows = economy["rows"]
    assert {(row["scenario"], row["market"], row["sockets"]) for row in rows} >= {
        ("disjoint", "open", 1),
        ("shared", "open", 50),
        ("shared", "closed", 50),
    }
    for row in rows:
        assert set(row) >= ROW_KEYS, row
        assert row["connected"] == row["sockets"]
        assert row["ticks"] >= economy["ticks_per_window"]
        # Every tick in the window fetched ceil(distinct due / 50) batches, at the HTTP layer.
        if row["market"] == "open":
            assert row["ours_requests_per_tick"] == math.ceil(row["distinct_due_per_tick"] / 50), row
        else:
            assert row["ours_requests_per_tick"] == 0, row
        assert row["ours_requests_per_tick"] == row["ours_expected_per_tick"], row
    by_key = {(row["scenario"], row["sockets"]): row for row in rows if row["market"] == "open"}
    # Independent of the socket count once every list is open.
    assert by_key[("shared", 10)]["ours_requests_per_tick"] == by_key[("shared", 50)]["ours_requests_per_tick"]
