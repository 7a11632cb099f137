"""A seeded random-walk market, for offline demos and load tests.

Every symbol starts at a price derived from the seed and the symbol alone, so two
processes with the same seed agree on where each symbol starts and how it moves
(one step per fetch of that symbol). While the market is "open" every fetch
moves every requested symbol by at least one displayed decimal, so a demo
always shows ticks; "closed" freezes prices and reports CLOSED.

Symbols starting with "ZZZ" do not exist here, so the unknown-symbol path can be
exercised offline.
"""

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from .base import FetchResult, QuoteData

UNKNOWN_PREFIX = "ZZZ"
MARKETS = ("open", "closed")
# Typical move per tick, relative to the price: about what a liquid stock does in a few seconds.
_STEP_SIGMA = 0.0015
# Suffix -> (currency, price range, price hint), so quotes look like the venue's.
_VENUES = {
    ".L": ("GBp", (50, 5000), 2),
    ".T": ("JPY", (300, 30000), 0),
    ".DE": ("EUR", (5, 500), 2),
    ".PA": ("EUR", (5, 500), 2),
    ".TO": ("CAD", (5, 300), 2),
    ".HK": ("HKD", (1, 600), 3),
}


@dataclass(slots=True)
class _Instrument:
    rng: random.Random
    unit: Decimal  # smallest displayed step, from the price hint
    price: Decimal
    previous_close: Decimal
    day_high: Decimal
    day_low: Decimal
    volume: int
    currency: str
    quote_type: str
    price_hint: int


class SimulatedProvider:
    """Simulated quotes; state lives in the instance (one market per process)."""

    name = "simulated"
    batch_size = None  # no network: no request budget to spend

    def __init__(self, *, seed: int, market: str = "open"):
        if market not in MARKETS:
            raise ValueError(f"market must be one of {MARKETS}, not {market!r}")
        self.seed = seed
        self.market = market
        self._instruments: dict[str, _Instrument] = {}
        self._lock = threading.Lock()

    def fetch(self, symbols: Sequence[str]) -> FetchResult:
        result = FetchResult()
        is_open = self.market == "open"
        now = datetime.now(UTC)
        seen: set[str] = set()
        with self._lock:
            for symbol in symbols:
                key = symbol.upper()
                if not symbol or key in seen:
                    continue
                seen.add(key)
                if key.startswith(UNKNOWN_PREFIX):
                    result.unknown.append(symbol)
                    continue
                instrument = self._instruments.get(key)
                if instrument is None:
                    instrument = self._instruments[key] = self._listing(key)
                elif is_open:
                    _step(instrument)
                result.quotes.append(_quote(symbol, instrument, "REGULAR" if is_open else "CLOSED", now))
        return result

    def _listing(self, symbol: str) -> _Instrument:
        # A string seed is hashed with SHA-512 by random.Random, so it is stable across processes.
        rng = random.Random(f"{self.seed}:{symbol}")  # noqa: S311 - a simulation, not a secret
        currency, quote_type, (low, high), price_hint = _profile(symbol)
        unit = Decimal(1).scaleb(-price_hint)
        # Log-uniform, so cheap and expensive instruments are equally common.
        start = Decimal(str(low * (high / low) ** rng.random())).quantize(unit, ROUND_HALF_UP)
        start = max(start, unit)
        return _Instrument(
            rng=rng,
            unit=unit,
            price=start,
            previous_close=start,
            day_high=start,
            day_low=start,
            volume=rng.randrange(10_000, 5_000_000),
            currency=currency,
            quote_type=quote_type,
            price_hint=price_hint,
        )


def _profile(symbol: str) -> tuple[str, str, tuple[float, float], int]:
    """Currency, quote type, starting price range and price hint, by Yahoo's symbol conventions."""
    if symbol.startswith("^"):
        return "USD", "INDEX", (1000, 9000), 2
    if symbol.endswith("=X"):
        pair = symbol[:-2]
        return (pair[3:] if len(pair) == 6 else "USD"), "CURRENCY", (0.5, 2.0), 4
    if "-" in symbol and symbol.rsplit("-", 1)[1] in {"USD", "EUR", "GBP"}:
        return symbol.rsplit("-", 1)[1], "CRYPTOCURRENCY", (100, 60000), 2
    for suffix, (currency, price_range, price_hint) in _VENUES.items():
        if symbol.endswith(suffix):
            return currency, "EQUITY", price_range, price_hint
    return "USD", "EQUITY", (5, 900), 2


def _step(instrument: _Instrument) -> None:
    """Move the price by a random step of at least one displayed unit, never to zero or below."""
    rng, unit, price = instrument.rng, instrument.unit, instrument.price
    move = Decimal(str(rng.gauss(0, _STEP_SIGMA))) * price
    move = move.quantize(unit, ROUND_HALF_UP)
    if abs(move) < unit:
        move = unit if rng.random() < 0.5 else -unit
    if price + move < unit:
        move = abs(move)
    instrument.price = price + move
    instrument.day_high = max(instrument.day_high, instrument.price)
    instrument.day_low = min(instrument.day_low, instrument.price)
    instrument.volume += rng.randrange(100, 50_000)


def _quote(symbol: str, instrument: _Instrument, market_state: str, now: datetime) -> QuoteData:
    change = instrument.price - instrument.previous_close
    change_percent = (change / instrument.previous_close * 100).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    return QuoteData(
        symbol=symbol,
        price=instrument.price,
        name=f"Simulated {symbol}",
        exchange="SIM",
        quote_type=instrument.quote_type,
        currency=instrument.currency,
        previous_close=instrument.previous_close,
        change=change,
        change_percent=change_percent,
        day_high=instrument.day_high,
        day_low=instrument.day_low,
        volume=instrument.volume,
        price_hint=instrument.price_hint,
        market_state=market_state,
        market_time=now,
    )
