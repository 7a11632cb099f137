"""The one interface every quote source implements.

`fetch(symbols)` never raises for upstream trouble: it returns a FetchResult
whose `failure` says what went wrong, so the caller can back off, mark quotes
stale and tell open pages, instead of catching a zoo of library exceptions.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class QuoteData:
    symbol: str
    price: Decimal
    name: str = ""
    exchange: str = ""
    quote_type: str = ""
    currency: str = ""
    previous_close: Decimal | None = None
    change: Decimal | None = None
    change_percent: Decimal | None = None
    day_high: Decimal | None = None
    day_low: Decimal | None = None
    volume: int | None = None
    price_hint: int = 2
    market_state: str = "UNKNOWN"
    market_time: datetime | None = None


class FailureKind(enum.StrEnum):
    RATE_LIMITED = "rate_limited"  # HTTP 429: back off, never retry hard
    AUTH = "auth"  # cookie/crumb rejected (401) even after yfinance's own retry
    TIMEOUT = "timeout"  # no answer within QUOTE_FETCH_TIMEOUT_SECONDS
    NETWORK = "network"  # DNS failure, refused or reset connection
    BAD_RESPONSE = "bad_response"  # not JSON, truncated, or not Yahoo's shape
    UPSTREAM_ERROR = "upstream_error"  # any other HTTP error status


@dataclass(frozen=True, slots=True)
class FetchFailure:
    kind: FailureKind
    detail: str
    # Symbols whose batch failed: neither quoted nor known to be unknown.
    symbols: tuple[str, ...] = ()


@dataclass(slots=True)
class FetchResult:
    quotes: list[QuoteData] = field(default_factory=list)
    # The source answered, and these symbols were not in its answer.
    unknown: list[str] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    # HTTP requests made for the quotes themselves (batches), for logs and metrics.
    requests: int = 0

    @property
    def failure(self) -> FetchFailure | None:
        """The first failure, if any: what the caller reports and backs off on."""
        return self.failures[0] if self.failures else None


class QuoteProvider(Protocol):
    name: str
    # Symbols per upstream request, for the shared request budget; None for a
    # source that makes no network requests.
    batch_size: int | None

    def fetch(self, symbols: Sequence[str]) -> FetchResult: ...
