"""Trend lines kept in the real Redis: bounded, ordered, expiring, one round trip, and harmless when Redis is down."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
import redis.client
from django.db import transaction
from django.utils import timezone

from config.redis_client import redis_key
from prices.models import Quote
from prices.services import quotes_refresh
from prices.sparklines import SPARKLINE_TTL_SECONDS, sparklines_get, sparklines_record
from prices.templatetags.quotes import sparkline, sparkline_shape


def quote(symbol: str, price: str | None, *, unknown: bool = False, seconds: int = 0) -> Quote:
    return Quote(
        symbol=symbol,
        price=None if price is None else Decimal(price),
        unknown=unknown,
        fetched_at=timezone.now() + timedelta(seconds=seconds),
    )


@pytest.fixture
def round_trips(monkeypatch):
    """Counts pipeline executions and single commands sent through redis-py (the real ones still run)."""
    counts = {"pipelines": 0, "pipelined_commands": 0, "commands": 0}
    execute, execute_command = redis.client.Pipeline.execute, redis.client.Redis.execute_command

    def counting_execute(self, *args, **kwargs):
        counts["pipelines"] += 1
        counts["pipelined_commands"] += len(self.command_stack)
        return execute(self, *args, **kwargs)

    def counting_execute_command(self, *args, **kwargs):
        if not isinstance(self, redis.client.Pipeline):
            counts["commands"] += 1
        return execute_command(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counting_execute)
    monkeypatch.setattr(redis.client.Redis, "execute_command", counting_execute_command)
    return counts


def test_points_come_back_oldest_first_and_bounded(settings):
    settings.SPARKLINE_POINTS = 3
    for step, price in enumerate(["10", "10.5", "11.25", "9.999", "12.000000"]):
        sparklines_record(quotes=[quote("AAPL", price, seconds=step)])
    assert sparklines_get(symbols=["AAPL"]) == {"AAPL": ["11.25", "9.999", "12"]}


def test_the_stored_list_itself_is_trimmed_and_expires(settings, redis_clean):
    settings.SPARKLINE_POINTS = 4
    sparklines_record(quotes=[quote("^GSPC", str(5000 + step), seconds=step) for step in range(10)])
    key = redis_key("spark", "^GSPC")
    assert redis_clean.llen(key) == 4
    assert 0 < redis_clean.ttl(key) <= SPARKLINE_TTL_SECONDS
    # Each entry keeps when the price was fetched, for whoever needs the time axis later.
    epoch, price = redis_clean.lindex(key, -1).decode().split(" ")
    assert price == "5009"
    assert abs(float(epoch) - timezone.now().timestamp()) < 60


def test_unknown_and_priceless_quotes_add_no_point():
    sparklines_record(quotes=[quote("AAPL", "1"), quote("NOPE", None, unknown=True), quote("MSFT", None)])
    sparklines_record(quotes=[quote("AAPL", "2", unknown=True)])
    assert sparklines_get(symbols=["AAPL", "NOPE", "MSFT"]) == {"AAPL": ["1"], "NOPE": [], "MSFT": []}


def test_symbols_are_kept_apart():
    sparklines_record(quotes=[quote("EURUSD=X", "1.08"), quote("EURUSD", "2")])
    sparklines_record(quotes=[quote("EURUSD=X", "1.09")])
    assert sparklines_get(symbols=["EURUSD=X", "EURUSD"]) == {"EURUSD=X": ["1.08", "1.09"], "EURUSD": ["2"]}


def test_many_symbols_take_one_round_trip_each_way(round_trips):
    symbols = [f"S{i}" for i in range(50)]
    sparklines_record(quotes=[quote(symbol, f"{i}.5") for i, symbol in enumerate(symbols)])
    assert round_trips["pipelines"] == 1
    assert round_trips["commands"] == 0

    result = sparklines_get(symbols=symbols)
    assert round_trips["pipelines"] == 2
    assert round_trips["pipelined_commands"] == 50 * 3 + 50
    assert round_trips["commands"] == 0
    assert result["S7"] == ["7.5"]
    assert list(result) == symbols


def test_nothing_to_record_or_read_costs_no_round_trip(round_trips):
    sparklines_record(quotes=[])
    assert sparklines_get(symbols=[]) == {}
    assert round_trips == {"pipelines": 0, "pipelined_commands": 0, "commands": 0}


def test_redis_down_means_a_warning_and_no_trend_lines(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="prices.sparklines"):
        sparklines_record(quotes=[quote("AAPL", "1")])
        assert sparklines_get(symbols=["AAPL", "MSFT"]) == {"AAPL": [], "MSFT": []}
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "Could not record 1 price(s) for trend lines" in warnings[0]
    assert "Could not read trend lines for 2 symbol(s)" in warnings[1]
    assert all("check REDIS_URL" in warning for warning in warnings)


@pytest.mark.django_db(transaction=True)
def test_refresh_records_only_changed_prices(fake_yahoo):
    fake_yahoo.set_quote("AAPL", price=244.6, previous_close=241.53)
    fake_yahoo.set_quote("MSFT", price=410.0, previous_close=400.0)
    quotes_refresh(symbols=["AAPL", "MSFT"])
    assert sparklines_get(symbols=["AAPL", "MSFT"]) == {"AAPL": ["244.6"], "MSFT": ["410"]}

    fake_yahoo.set_quote("MSFT", price=411.25, previous_close=400.0)
    result = quotes_refresh(symbols=["AAPL", "MSFT"])
    assert [changed.symbol for changed in result.changed] == ["MSFT"]
    assert sparklines_get(symbols=["AAPL", "MSFT"]) == {"AAPL": ["244.6"], "MSFT": ["410", "411.25"]}


@pytest.mark.django_db(transaction=True)
def test_refresh_inside_a_transaction_records_on_commit_only(fake_yahoo):
    fake_yahoo.set_quote("AAPL", price=244.6, previous_close=241.53)
    with transaction.atomic():
        quotes_refresh(symbols=["AAPL"])
        assert sparklines_get(symbols=["AAPL"]) == {"AAPL": []}
    assert sparklines_get(symbols=["AAPL"]) == {"AAPL": ["244.6"]}

    fake_yahoo.set_quote("AAPL", price=250, previous_close=241.53)
    with pytest.raises(RuntimeError), transaction.atomic():
        quotes_refresh(symbols=["AAPL"])
        raise RuntimeError("rolled back")
    assert sparklines_get(symbols=["AAPL"]) == {"AAPL": ["244.6"]}


def test_shape_of_a_rising_line():
    shape = sparkline_shape(["10", "9.5", "9.75", "11.125"])
    assert shape == {
        "points": "0,15.85 26.67,22 53.33,18.92 80,2",
        "trend": "up",
        "label": "Recent trend: up 11.25%",
    }


@pytest.mark.parametrize(
    ("prices", "trend", "label"),
    [
        (["5", "5", "5"], "flat", "Recent trend: flat"),
        (["2", "1"], "down", "Recent trend: down 50.00%"),
        (["100", "100.004"], "up", "Recent trend: up under 0.01%"),
        (["0", "1"], "up", "Recent trend: up"),
    ],
)
def test_shape_direction_is_against_the_first_point(prices, trend, label):
    shape = sparkline_shape(prices)
    assert (shape["trend"], shape["label"]) == (trend, label)


@pytest.mark.parametrize("prices", [[], ["1"], None, ["x", "1"]])
def test_no_line_below_two_points(prices):
    assert sparkline_shape(prices) is None
    assert sparkline(prices) == ""


def test_sparkline_tag_draws_an_svg_polyline():
    html = sparkline(["1", "2"])
    assert html.startswith('<svg class="spark spark--up" viewBox="0 0 80 24" preserveAspectRatio="none" role="img"')
    assert 'aria-label="Recent trend: up 100.00%"' in html
    assert '<polyline points="0,22 80,2" fill="none"' in html
