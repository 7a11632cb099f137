import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from prices.providers.simulated import SimulatedProvider

SYMBOLS = ["AAPL", "^GSPC", "EURUSD=X", "BTC-USD", "VOD.L", "7203.T"]


def _prices(result) -> dict[str, Decimal]:
    return {quote.symbol: quote.price for quote in result.quotes}


def test_same_seed_gives_the_same_market():
    first, second = SimulatedProvider(seed=7), SimulatedProvider(seed=7)
    for _ in range(5):
        assert _prices(first.fetch(SYMBOLS)) == _prices(second.fetch(SYMBOLS))


def test_another_seed_gives_another_market():
    assert _prices(SimulatedProvider(seed=1).fetch(SYMBOLS)) != _prices(SimulatedProvider(seed=2).fetch(SYMBOLS))


def test_a_symbols_path_does_not_depend_on_what_else_is_fetched():
    alone, crowded = SimulatedProvider(seed=3), SimulatedProvider(seed=3)
    for _ in range(4):
        a = alone.fetch(["AAPL"]).quotes[0].price
        b = _prices(crowded.fetch(["MSFT", "AAPL", "NVDA"]))["AAPL"]
        assert a == b


def test_every_fetch_moves_every_symbol_by_at_least_one_displayed_unit():
    provider = SimulatedProvider(seed=42)
    before = {quote.symbol: quote for quote in provider.fetch(SYMBOLS).quotes}
    for _ in range(50):
        after = {quote.symbol: quote for quote in provider.fetch(SYMBOLS).quotes}
        for symbol, quote in after.items():
            unit = Decimal(1).scaleb(-quote.price_hint)
            assert abs(quote.price - before[symbol].price) >= unit, symbol
            # Prices are kept at the precision they are displayed with.
            assert quote.price == quote.price.quantize(unit)
        before = after


def test_prices_never_reach_zero_even_for_cheap_instruments():
    provider = SimulatedProvider(seed=5)
    symbols = [f"EUR{i:03d}=X" for i in range(30)] + ["PENNY"]
    for _ in range(300):
        assert all(quote.price > 0 for quote in provider.fetch(symbols).quotes)


def test_change_is_relative_to_the_first_price_and_day_range_is_tracked():
    provider = SimulatedProvider(seed=11)
    first = provider.fetch(["AAPL"]).quotes[0]
    assert first.previous_close == first.price
    assert first.change == 0
    seen = [first.price]
    for _ in range(20):
        quote = provider.fetch(["AAPL"]).quotes[0]
        seen.append(quote.price)
        assert quote.previous_close == first.price
        assert quote.change == quote.price - first.price
        expected = (quote.change / first.price * 100).quantize(Decimal("0.0001"))
        assert quote.change_percent == expected
    assert quote.day_high == max(seen)
    assert quote.day_low == min(seen)


def test_quotes_look_like_their_venue():
    quotes = {quote.symbol: quote for quote in SimulatedProvider(seed=42).fetch(SYMBOLS).quotes}
    assert quotes["AAPL"].currency == "USD" and Decimal(5) <= quotes["AAPL"].price <= Decimal(900)
    assert quotes["^GSPC"].quote_type == "INDEX" and quotes["^GSPC"].price >= 1000
    assert quotes["EURUSD=X"].price_hint == 4 and Decimal("0.5") <= quotes["EURUSD=X"].price <= Decimal(2)
    assert quotes["EURUSD=X"].currency == "USD" and quotes["EURUSD=X"].quote_type == "CURRENCY"
    assert quotes["BTC-USD"].quote_type == "CRYPTOCURRENCY" and quotes["BTC-USD"].price >= 100
    assert quotes["VOD.L"].currency == "GBp"
    assert quotes["7203.T"].currency == "JPY" and quotes["7203.T"].price_hint == 0
    for quote in quotes.values():
        assert quote.name == f"Simulated {quote.symbol}"
        assert quote.exchange == "SIM"
        assert quote.market_state == "REGULAR"
        assert abs(quote.market_time - datetime.now(UTC)) < timedelta(seconds=5)


def test_closed_market_does_not_move():
    provider = SimulatedProvider(seed=42, market="closed")
    first = _prices(provider.fetch(SYMBOLS))
    for _ in range(5):
        result = provider.fetch(SYMBOLS)
        assert _prices(result) == first
        assert {quote.market_state for quote in result.quotes} == {"CLOSED"}


def test_unknown_market_setting_is_refused():
    with pytest.raises(ValueError, match="market"):
        SimulatedProvider(seed=1, market="sometimes")


def test_zzz_symbols_are_unknown_and_nothing_counts_as_a_request():
    result = SimulatedProvider(seed=1).fetch(["AAPL", "ZZZNOPE", "zzz1"])
    assert [quote.symbol for quote in result.quotes] == ["AAPL"]
    assert result.unknown == ["ZZZNOPE", "zzz1"]
    assert result.failures == []
    assert result.requests == 0


def test_duplicates_are_quoted_once_and_spelling_is_kept():
    result = SimulatedProvider(seed=1).fetch(["aapl", "AAPL", "msft"])
    assert [quote.symbol for quote in result.quotes] == ["aapl", "msft"]


def test_concurrent_fetches_each_take_exactly_one_step():
    provider = SimulatedProvider(seed=9)
    reference = SimulatedProvider(seed=9)
    threads_count, rounds = 8, 25
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def hammer():
        try:
            start.wait()
            for _ in range(rounds):
                provider.fetch(SYMBOLS)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    # Lost or doubled updates would leave the shared walk somewhere a serial run never goes.
    for _ in range(threads_count * rounds):
        reference.fetch(SYMBOLS)
    assert _prices(provider.fetch(SYMBOLS)) == _prices(reference.fetch(SYMBOLS))
