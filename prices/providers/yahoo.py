"""Quotes from Yahoo's v7 quote endpoint: many symbols per request, through yfinance.

yfinance has no public batch quote call (``download``, ``Tickers`` and
``fast_info`` make 1-3 chart requests per symbol), so this adapter asks
``/v7/finance/quote`` for up to 50 symbols at once, using yfinance's own session,
cookie and crumb handling. That means relying on yfinance internals, and this
module is the only place that does. Verified against yfinance ``1.7.0`` (pinned in
requirements.txt; tests/prices/test_yahoo_provider.py pins each item below):

- ``yfinance.data.YfData``: a process-wide singleton (``SingletonMeta._instances``)
  taking ``session=`` (a requests or curl_cffi session); ``YfData(session=s)`` on
  an existing instance swaps its session but keeps its cookie and crumb.
- ``YfData.get(url, params=, timeout=)``: fetches cookie and crumb, adds ``crumb``
  to the params (we must not), on HTTP >= 400 retries once with the other cookie
  strategy, and raises ``yfinance.exceptions.YFRateLimitError`` if that is 429.
  Its cookie and crumb requests ignore our timeout (30 s each), hence the thread
  and deadline below.
- ``YfData._session``, ``._crumb``, ``._cookie``, ``._cookie_lock``: reset when the
  session changes (a crumb is only valid with the cookies it was minted for) and
  after a 429 (yfinance then keeps "Too Many Requests" as its crumb).
- ``yfinance.set_tz_cache_location``: moves all of yfinance's sqlite caches
  (timezone, cookie, ISIN). The cookie cache matters: without it yfinance asks
  fc.yahoo.com for a cookie before every request. Its first write races between
  processes, hence ``_first_cookie_lock``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
import yfinance
from requests.adapters import HTTPAdapter
from yfinance.data import YfData
from yfinance.exceptions import YFRateLimitError

from .base import FailureKind, FetchFailure, FetchResult, QuoteData

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process cookie lock
    fcntl = None
try:  # yfinance's default backend; its exceptions are OSError subclasses
    from curl_cffi.requests import exceptions as curl_exceptions
except ImportError:  # pragma: no cover - curl_cffi is a pinned dependency
    curl_exceptions = None

logger = logging.getLogger(__name__)

YFINANCE_VERSION_VERIFIED = "1.7.0"
QUOTE_URL = "https://query1.finance.yahoo.com/v7/finance/quote"
BATCH_SIZE = 50
# Hung calls keep their thread until yfinance's own timeouts end them; past this
# many, a fetch reports TIMEOUT at once instead of starting yet another thread.
MAX_CALLS_IN_FLIGHT = 4
# Mirrors prices.models.MarketState (without UNKNOWN); a test keeps the two in step.
# Not imported, so this module works before Django's app registry is ready.
MARKET_STATES = frozenset({"PREPRE", "PRE", "REGULAR", "POST", "POSTPOST", "CLOSED"})
# After these, further batches in the same fetch would fail the same way (or
# make a rate limit worse), so their symbols join the failure instead.
_STOP_KINDS = frozenset({FailureKind.RATE_LIMITED, FailureKind.TIMEOUT, FailureKind.NETWORK, FailureKind.AUTH})
_RATE_LIMITED_CRUMB = "Too Many Requests"

_TIMEOUT_ERRORS: tuple[type[BaseException], ...] = (requests.exceptions.Timeout, TimeoutError, socket.timeout)
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (requests.exceptions.ConnectionError, OSError)
if curl_exceptions is not None:
    _TIMEOUT_ERRORS += (curl_exceptions.Timeout,)
    _NETWORK_ERRORS += (curl_exceptions.ConnectionError,)


class _BatchFailed(Exception):
    def __init__(self, kind: FailureKind, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class YahooProvider:
    """Yahoo quotes, one v7 request per batch of at most 50 symbols, bounded in time."""

    name = "yahoo"
    batch_size = BATCH_SIZE

    def __init__(self, *, timeout: float, base_url: str | None = None, session=None):
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = float(timeout)
        self.base_url = base_url or None
        if session is None and self.base_url:
            session = redirecting_session(self.base_url)
        # None: yfinance's default (curl_cffi, impersonating a browser).
        self._session = session
        # A fake Yahoo's cookie must never be offered to the real one, so it gets its own cache.
        yfinance_cache_configure(_default_cache_dir() / "fake-yahoo" if self.base_url else None)

    def fetch(self, symbols: Sequence[str]) -> FetchResult:
        result = FetchResult()
        wanted = _distinct(symbols)
        deadline = time.monotonic() + self.timeout
        batches = [wanted[start : start + BATCH_SIZE] for start in range(0, len(wanted), BATCH_SIZE)]
        for index, batch in enumerate(batches):
            try:
                if time.monotonic() >= deadline:
                    raise _BatchFailed(FailureKind.TIMEOUT, f"no time left within {self.timeout:g}s for this batch")
                try:
                    quotes, unknown = self._fetch_batch(batch, deadline, result)
                except _BatchFailed:
                    raise
                except Exception as exc:
                    # A shape of answer nobody foresaw: one bad batch, never a crashed tick.
                    logger.exception("Yahoo's answer for %d symbols could not be read", len(batch))
                    raise _BatchFailed(FailureKind.BAD_RESPONSE, f"unreadable answer ({type(exc).__name__})") from exc
            except _BatchFailed as failed:
                failure = FetchFailure(kind=failed.kind, detail=failed.detail, symbols=tuple(batch))
                if failed.kind in _STOP_KINDS:
                    rest = tuple(symbol for later in batches[index + 1 :] for symbol in later)
                    failure = replace(failure, symbols=failure.symbols + rest)
                _log_failure(failure, self.timeout)
                result.failures.append(failure)
                if failed.kind in _STOP_KINDS:
                    break
                continue
            result.quotes.extend(quotes)
            result.unknown.extend(unknown)
        return result

    def _fetch_batch(self, batch: list[str], deadline: float, result: FetchResult) -> tuple[list[QuoteData], list[str]]:
        params = {"symbols": ",".join(batch), "formatted": "false"}
        request_timeout = max(0.1, deadline - time.monotonic())

        def call():
            data = _yfdata(self._session)
            try:
                with _first_cookie_lock(data):
                    return data.get(QUOTE_URL, params=params, timeout=request_timeout)
            finally:
                _forget_rate_limited_crumb(data)

        outcome = _start_in_worker(call)
        result.requests += 1
        try:
            response, error = outcome.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise _BatchFailed(FailureKind.TIMEOUT, f"no answer within {self.timeout:g}s") from None
        if error is not None:
            raise _failure_from_exception(error)
        return _parse_response(response, batch)


# --- time bound --------------------------------------------------------------

_in_flight = 0
_in_flight_lock = threading.Lock()


def calls_in_flight() -> int:
    """Yahoo calls still running in worker threads (hung ones included)."""
    with _in_flight_lock:
        return _in_flight


def _start_in_worker(call: Callable) -> Future:
    """Run `call` in a worker thread; the Future resolves to (value, None) or (None, exception).

    The caller waits on it with a deadline, because yfinance's cookie and crumb
    requests take no timeout from us. Daemon threads rather than a
    ThreadPoolExecutor: the executor's workers are joined at interpreter exit,
    so one hung call would hold up a Celery worker's shutdown by 30 s or more.
    """
    global _in_flight
    with _in_flight_lock:
        if _in_flight >= MAX_CALLS_IN_FLIGHT:
            raise _BatchFailed(
                FailureKind.TIMEOUT, f"{_in_flight} earlier Yahoo requests are still hung; not starting another"
            )
        _in_flight += 1
    outcome: Future = Future()

    def run() -> None:
        global _in_flight
        try:
            outcome.set_result((call(), None))
        except BaseException as exc:  # handed to the waiting thread, which classifies it
            outcome.set_result((None, exc))
        finally:
            with _in_flight_lock:
                _in_flight -= 1

    try:
        threading.Thread(target=run, name="yahoo-quote", daemon=True).start()
    except BaseException:
        with _in_flight_lock:
            _in_flight -= 1
        raise
    return outcome


# --- yfinance internals ------------------------------------------------------

_session_swap_lock = threading.Lock()


def _yfdata(session) -> YfData:
    """yfinance's singleton, using `session` (None: whatever yfinance already uses)."""
    if session is None:
        return YfData()
    with _session_swap_lock:
        current = type(YfData)._instances.get(YfData)
        if current is not None and current._session is session:
            return current
        data = YfData(session=session)
        with data._cookie_lock:
            # The crumb belongs to the previous session's cookies.
            data._cookie = None
            data._crumb = None
        return data


@contextlib.contextmanager
def _first_cookie_lock(data: YfData):
    """Let one thread or process at a time get a cookie while yfinance has no crumb yet.

    yfinance stores a fetched cookie in its shared cache with delete-then-insert,
    so processes starting together fail with IntegrityError (measured: about one
    in six). Serialised, the first stores the cookie and the rest load it
    instead of asking fc.yahoo.com again. flock is per open file, so it covers
    threads of one process too; the waiting stays inside the worker thread.
    """
    lock_file = None
    if data._crumb is None and fcntl is not None and _cache_dir is not None:
        with contextlib.suppress(OSError):  # an unwritable cache folder only costs the lock
            lock_file = open(_cache_dir / "cookie.lock", "a")  # noqa: SIM115 - closed below
    if lock_file is None:
        yield
        return
    with lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def _forget_rate_limited_crumb(data: YfData) -> None:
    # On a 429 from getcrumb, yfinance 1.7.0 keeps the body as its crumb, which
    # would cost a 401 and a cookie-strategy dance on the next request.
    crumb = data._crumb
    if isinstance(crumb, str) and _RATE_LIMITED_CRUMB in crumb:
        with data._cookie_lock:
            data._crumb = None


class _RedirectAdapter(HTTPAdapter):
    """Sends requests for Yahoo's hosts to `base_url` instead, keeping path and query.

    The session still sees Yahoo's URL, so cookies land in the jar under
    .yahoo.com exactly as with the real Yahoo.
    """

    def __init__(self, base_url: str):
        super().__init__()
        parts = urlsplit(base_url)
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path.rstrip("/")

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        host = parts.hostname or ""
        if host != "yahoo.com" and not host.endswith(".yahoo.com"):
            return super().send(request, **kwargs)
        rewritten = request.copy()
        rewritten.url = urlunsplit((self._scheme, self._netloc, self._prefix + (parts.path or "/"), parts.query, ""))
        response = super().send(rewritten, **kwargs)
        response.request = request
        response.url = request.url
        return response


def redirecting_session(base_url: str) -> requests.Session:
    """A requests session whose Yahoo traffic goes to `base_url` (a fake Yahoo)."""
    session = requests.Session()
    adapter = _RedirectAdapter(base_url)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_cache_lock = threading.Lock()
_cache_dir: Path | None = None


def _default_cache_dir() -> Path:
    from django.conf import settings

    if settings.configured and getattr(settings, "VAR_DIR", None):
        return Path(settings.VAR_DIR) / "yfinance-cache"
    return Path(__file__).resolve().parents[2] / "var" / "yfinance-cache"


def yfinance_cache_configure(path: Path | str | None = None) -> Path:
    """Point yfinance's sqlite caches at `path` (default var/yfinance-cache), once per process.

    yfinance opens its caches lazily and cannot really move them once open, so
    the first call wins; tests call this first with a temporary folder.
    """
    global _cache_dir
    with _cache_lock:
        if _cache_dir is None:
            target = Path(path) if path is not None else _default_cache_dir()
            try:
                # exist_ok: web, worker and beat processes may all start at once; yfinance's
                # own check-then-create would race. Its sqlite files are in WAL mode, fine to share.
                os.makedirs(target, exist_ok=True)
            except OSError as exc:
                logger.error(
                    "Cannot create yfinance's cache folder %s (%s); yfinance will ask Yahoo for a cookie "
                    "before every quote request until it exists",
                    target,
                    exc,
                )
            yfinance.set_tz_cache_location(str(target))
            _cache_dir = target
        elif path is not None and Path(path) != _cache_dir:
            logger.debug("yfinance cache already at %s; not moving it to %s", _cache_dir, path)
        return _cache_dir


# --- responses ---------------------------------------------------------------


def _parse_response(response, batch: list[str]) -> tuple[list[QuoteData], list[str]]:
    status = response.status_code
    if status == 429:
        raise _BatchFailed(FailureKind.RATE_LIMITED, "HTTP 429 Too Many Requests")
    if status == 401:
        raise _BatchFailed(FailureKind.AUTH, "HTTP 401 (cookie/crumb rejected after yfinance's retry)")
    if status >= 400:
        raise _BatchFailed(FailureKind.UPSTREAM_ERROR, f"HTTP {status}")
    body = response.content
    try:
        # From bytes: requests' .text would sniff the encoding of a large body first.
        payload = json.loads(body)
    except ValueError:
        raise _BatchFailed(FailureKind.BAD_RESPONSE, f"not JSON: {_snippet(body)}") from None
    quote_response = payload.get("quoteResponse") if isinstance(payload, dict) else None
    if not isinstance(quote_response, dict):
        raise _BatchFailed(FailureKind.BAD_RESPONSE, f"no quoteResponse object: {_snippet(body)}")
    records = quote_response.get("result")
    error = quote_response.get("error")
    if records is None and error:
        raise _BatchFailed(FailureKind.UPSTREAM_ERROR, f"Yahoo reported an error: {_snippet(json.dumps(error))}")
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise _BatchFailed(FailureKind.BAD_RESPONSE, "quoteResponse.result is not a list of objects")
    if error:
        logger.warning("Yahoo answered quotes with an error beside them: %s", _snippet(json.dumps(error)))

    requested = {symbol.upper(): symbol for symbol in batch}
    answered: set[str] = set()
    quotes = []
    for record in records:
        returned = record.get("symbol")
        symbol = requested.get(returned.upper()) if isinstance(returned, str) else None
        if symbol is None or returned.upper() in answered:
            logger.debug("Ignoring Yahoo quote record for %r: not requested in this batch", returned)
            continue
        answered.add(returned.upper())
        quote = quote_from_record(symbol, record)
        if quote is None:
            logger.warning(
                "Yahoo's quote for %s has no usable price (%r); skipped", symbol, record.get("regularMarketPrice")
            )
            continue
        quotes.append(quote)
    unknown = [symbol for key, symbol in requested.items() if key not in answered]
    return quotes, unknown


def quote_from_record(symbol: str, record: dict) -> QuoteData | None:
    """Map one v7 result record; None when it has no usable price."""
    price = _decimal(record.get("regularMarketPrice"))
    if price is None or price < 0:
        return None
    return QuoteData(
        symbol=symbol,
        price=price,
        name=_text(record, "shortName", "longName", "displayName", limit=200),
        exchange=_text(record, "fullExchangeName", "exchange", limit=50),
        quote_type=_text(record, "quoteType", limit=30),
        currency=_text(record, "currency", limit=10),
        previous_close=_decimal(record.get("regularMarketPreviousClose")),
        change=_decimal(record.get("regularMarketChange")),
        change_percent=_decimal(record.get("regularMarketChangePercent"), places=4),
        day_high=_decimal(record.get("regularMarketDayHigh")),
        day_low=_decimal(record.get("regularMarketDayLow")),
        volume=_volume(record.get("regularMarketVolume")),
        price_hint=_price_hint(record.get("priceHint")),
        market_state=state
        if isinstance(state := record.get("marketState"), str) and state in MARKET_STATES
        else "UNKNOWN",
        market_time=_epoch(record.get("regularMarketTime")),
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _decimal(value: object, *, places: int = 6) -> Decimal | None:
    """Yahoo's floats carry noise (3.0700073); round before turning them into Decimals."""
    number = _number(value)
    if number is None:
        return None
    amount = Decimal(str(round(number, places)))
    return amount if amount else abs(amount)  # no "-0.0"


def _volume(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else None


def _price_hint(value: object) -> int:
    number = _number(value)
    return 2 if number is None else min(10, max(0, int(number)))


def _epoch(value: object) -> datetime | None:
    number = _number(value)
    if number is None or number <= 0:
        return None
    if number > 1e11:  # milliseconds, as some of Yahoo's other time fields are
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _text(record: dict, *keys: str, limit: int) -> str:
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:limit]
    return ""


def _snippet(body: bytes | str, limit: int = 120) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def _distinct(symbols: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    distinct = []
    for symbol in symbols:
        if isinstance(symbol, str) and symbol and symbol.upper() not in seen:
            seen.add(symbol.upper())
            distinct.append(symbol)
    return distinct


# --- failures ----------------------------------------------------------------


def _failure_from_exception(exc: BaseException) -> _BatchFailed:
    """Name what went wrong, looking through the chain: yfinance sometimes fails while handling the real error."""
    for link in _chain(exc):
        if isinstance(link, YFRateLimitError):
            return _BatchFailed(FailureKind.RATE_LIMITED, "HTTP 429 Too Many Requests (YFRateLimitError)")
        if isinstance(link, _TIMEOUT_ERRORS):
            return _BatchFailed(FailureKind.TIMEOUT, _describe(link))
        if isinstance(link, _NETWORK_ERRORS):
            return _BatchFailed(FailureKind.NETWORK, _describe(link))
    # e.g. yfinance's KeyError/AttributeError paths when offline, or its cookie cache failing.
    logger.error("Unexpected error from yfinance while fetching quotes", exc_info=exc)
    root = list(_chain(exc))[-1]
    return _BatchFailed(FailureKind.NETWORK, f"unexpected {_describe(root)}")


def _chain(exc: BaseException):
    seen = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen and len(seen) < 10:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message[:200]}" if message else type(exc).__name__


def _log_failure(failure: FetchFailure, timeout: float) -> None:
    count = len(failure.symbols)
    messages = {
        FailureKind.RATE_LIMITED: "Yahoo rate-limited the quote request for %d symbol(s) (%s); backing off",
        FailureKind.AUTH: "Yahoo rejected yfinance's cookie/crumb for %d symbol(s) (%s); "
        "if this persists, yfinance may need an upgrade",
        FailureKind.TIMEOUT: "Yahoo quotes for %d symbol(s) timed out (%s); "
        f"check outbound HTTPS to *.yahoo.com or QUOTE_FETCH_TIMEOUT_SECONDS={timeout:g}",
        FailureKind.NETWORK: "Could not reach Yahoo for %d symbol(s) (%s); check DNS and outbound HTTPS",
        FailureKind.BAD_RESPONSE: "Yahoo's quote answer for %d symbol(s) was unusable (%s)",
        FailureKind.UPSTREAM_ERROR: "Yahoo failed the quote request for %d symbol(s) (%s)",
    }
    logger.warning(messages[failure.kind], count, failure.detail)
