"""A local HTTP server that imitates the parts of Yahoo Finance the quote provider uses.

Unit tests, e2e tests and benchmarks point the real provider code (yfinance's own
cookie + crumb dance included) at it, because no machine here reaches Yahoo.
Importable without Django.

In-process use::

    with FakeYahoo() as fake:
        fake.set_quote("AAPL", price=244.6, change=3.0700073)
        provider = YahooProvider(timeout=2, base_url=fake.base_url)
        ...
        assert fake.count("/v7/finance/quote") == 1

Endpoints (what yfinance requests after the provider rewrites Yahoo's hosts):

- ``/`` (fc.yahoo.com): sets the ``A3`` cookie (Domain=.yahoo.com, one year).
- ``/v1/test/getcrumb``: the crumb as plain text; 401 "Invalid Cookie" without ``A3``.
- ``/v7/finance/quote?symbols=A,B&crumb=..``: needs the current crumb and an ``A3``
  cookie, else 401 "Invalid Crumb". Answers ``{"quoteResponse": {"result": [...],
  "error": null}}``; unknown symbols are absent from ``result``.
- ``/v8/finance/chart/<symbol>``: one symbol per request, Yahoo's chart shape
  (``meta.currentTradingPeriod`` included); 404 with Yahoo's body when unknown.
  Counted under ``/v8/finance/chart`` whatever the symbol.
- anything else (e.g. yfinance's consent pages): 404 HTML.

Which symbols exist: those given to ``set_quote`` (static), plus any other symbol
from a deterministic default generator whose price moves a little on every quote
request, unless the symbol is in ``unknown_symbols`` or ``known_only`` is on.

``mode`` switches failure shapes: ``ok``; ``rate_limit`` (429 "Too Many Requests"
on every endpoint); ``unauthorized`` (401 on quote, always); ``hang`` (every
endpoint accepts and never answers until the server stops); ``hang_quote`` (only
the quote endpoint hangs); ``html`` (quote answers 200 with an HTML page);
``truncated`` (quote JSON cut in half); ``null_fields`` (every record field but
``symbol`` is null, and ``regularMarketPrice`` is also null in every second
record); ``partial`` (every second requested symbol is dropped from ``result``).
``rotate_crumb()`` makes the current crumb stale, as Yahoo does now and then.
``set_quote_response(status, body)`` answers quote requests that pass the crumb
check with exactly that (for shapes the modes do not cover); ``None`` undoes it.

Counting (thread-safe): ``count(path)``, ``counts``, ``requested_symbols`` (one
list per quote request), ``last_quote_query`` (its parsed query string),
``chart_symbols``, ``reset_counts()``.

As a separate process (e2e tests, benchmarks)::

    python -m tests.support.fake_yahoo --port 8765 [--host 127.0.0.1] [--mode ok] [--known-only]

It prints ``FAKE_YAHOO_URL=http://127.0.0.1:8765`` once listening (``--port 0``
picks a free port) and runs until SIGINT/SIGTERM. Control it over HTTP:

- ``POST /__control__`` with JSON, every key optional: ``{"mode": "rate_limit",
  "quotes": {"AAPL": {"price": 244.6, "change": 3.07, "currency": "USD"}},
  "unknown_symbols": ["NOPE"], "known_only": false, "moving": true,
  "clear_quotes": false, "reset_counts": false, "rotate_crumb": false,
  "quote_response": [500, "body", "text/plain"]}`` (``null`` undoes ``quote_response``)
  (quote specs take ``set_quote``'s keyword arguments). Answers the stats.
- ``GET /__stats__``: ``{"mode", "crumb", "counts": {path: n}, "requested_symbols",
  "chart_symbols"}``.

Neither control path is counted or affected by ``mode``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import secrets
import signal
import socket
import threading
import time
import zlib
from email.utils import formatdate
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODES = frozenset(
    {"ok", "rate_limit", "unauthorized", "hang", "hang_quote", "html", "truncated", "null_fields", "partial"}
)
QUOTE_PATH = "/v7/finance/quote"
CRUMB_PATH = "/v1/test/getcrumb"
CHART_PREFIX = "/v8/finance/chart"
CONTROL_PATH = "/__control__"
STATS_PATH = "/__stats__"

_HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Yahoo</title></head>"
    "<body><p>Will be right back... Thank you for your patience.</p></body></html>"
)
_INVALID_CRUMB = {"finance": {"result": None, "error": {"code": "Unauthorized", "description": "Invalid Crumb"}}}
_INVALID_COOKIE = {"finance": {"result": None, "error": {"code": "Unauthorized", "description": "Invalid Cookie"}}}
_MISSING_SYMBOLS = {
    "finance": {
        "result": None,
        "error": {"code": "Bad Request", "description": "Missing required query parameter=symbols"},
    }
}
_CHART_NOT_FOUND = {
    "chart": {"result": None, "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}
}
# Suffix -> (currency, exchange, full exchange name, timezone, gmt offset ms), for plausible records.
_VENUES = {
    ".L": ("GBp", "LSE", "LSE", "Europe/London", 0),
    ".T": ("JPY", "JPX", "Tokyo", "Asia/Tokyo", 32400000),
    ".DE": ("EUR", "GER", "XETRA", "Europe/Berlin", 3600000),
    ".PA": ("EUR", "PAR", "Paris", "Europe/Paris", 3600000),
}
_US = ("USD", "NMS", "NasdaqGS", "America/New_York", -18000000)


def _venue(symbol: str) -> tuple[str, str, str, str, int]:
    for suffix, venue in _VENUES.items():
        if symbol.endswith(suffix):
            return venue
    return _US


def _default_spec(symbol: str, generation: int) -> dict:
    """A plausible quote for a symbol nobody configured; the price moves on every request."""
    seed = zlib.crc32(symbol.encode())
    if symbol.endswith("=X"):
        base, quote_type, hint = 0.5 + (seed % 15000) / 10000, "CURRENCY", 4
    elif symbol.startswith("^"):
        base, quote_type, hint = 1000 + (seed % 3_900_000) / 100, "INDEX", 2
    elif symbol.endswith("-USD"):
        base, quote_type, hint = 50 + (seed % 6_000_000) / 100, "CRYPTOCURRENCY", 2
    else:
        base, quote_type, hint = 10 + (seed % 49000) / 100, "EQUITY", 2
    # (generation % 9) - 4 never repeats on consecutive requests, so every tick changes the price.
    price = round(base * (1 + 0.001 * ((generation % 9) - 4)), hint)
    return {"price": price, "previous_close": round(base, hint), "quote_type": quote_type, "price_hint": hint}


class FakeYahoo:
    """A Yahoo look-alike on 127.0.0.1 in a background thread. See the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, known_only: bool = False, moving: bool = True):
        self.known_only = known_only
        self.moving = moving
        self.unknown_symbols: set[str] = set()
        self._mode = "ok"
        self._lock = threading.Lock()
        self._quotes: dict[str, dict] = {}
        self._generations: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._requested: list[list[str]] = []
        self._chart_symbols: list[str] = []
        self._last_quote_query: dict[str, list[str]] = {}
        self._quote_response: tuple[int, str, str] | None = None
        self._crumb = self._new_crumb()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeYahoo:
        if self._thread is None:
            # A short poll interval keeps stop() fast.
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-yahoo", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: hung handlers return, open keep-alive connections are cut."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeYahoo:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- what the test controls ----------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown FakeYahoo mode {value!r}; use one of {sorted(MODES)}")
        self._mode = value

    @property
    def crumb(self) -> str:
        return self._crumb

    def rotate_crumb(self) -> None:
        """Make the crumb clients hold stale: their next quote request gets 401 "Invalid Crumb"."""
        with self._lock:
            self._crumb = self._new_crumb()

    def set_quote(
        self,
        symbol: str,
        *,
        price: object,
        change: float | None = None,
        change_percent: float | None = None,
        previous_close: float | None = None,
        market_state: str = "REGULAR",
        currency: str | None = None,
        price_hint: int = 2,
        name: str | None = None,
        quote_type: str = "EQUITY",
        exchange: str | None = None,
        full_exchange_name: str | None = None,
        market_time: int | None = None,
        volume: int | None = 1_000_000,
        day_high: float | None = None,
        day_low: float | None = None,
        raw: dict | None = None,
        missing: tuple[str, ...] = (),
    ) -> None:
        """Serve this quote for `symbol`. `raw` overrides Yahoo keys verbatim; `missing` removes keys."""
        spec = {key: value for key, value in locals().items() if key not in {"self", "symbol"}}
        with self._lock:
            self._quotes[symbol.upper()] = spec

    def set_quote_response(self, status: int | None, body: str = "", content_type: str = "application/json") -> None:
        """Answer crumb-checked quote requests with this status and body; status None goes back to normal."""
        with self._lock:
            self._quote_response = None if status is None else (status, body, content_type)

    def clear_quotes(self) -> None:
        with self._lock:
            self._quotes.clear()
            self._generations.clear()

    # --- what the test reads -------------------------------------------------

    def count(self, path: str) -> int:
        with self._lock:
            return self._counts.get(path, 0)

    @property
    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    @property
    def requested_symbols(self) -> list[list[str]]:
        with self._lock:
            return [list(symbols) for symbols in self._requested]

    @property
    def last_quote_query(self) -> dict[str, list[str]]:
        with self._lock:
            return {key: list(values) for key, values in self._last_quote_query.items()}

    @property
    def chart_symbols(self) -> list[str]:
        with self._lock:
            return list(self._chart_symbols)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self._requested.clear()
            self._chart_symbols.clear()
            self._last_quote_query = {}

    def stats(self) -> dict:
        return {
            "mode": self.mode,
            "crumb": self.crumb,
            "counts": self.counts,
            "requested_symbols": self.requested_symbols,
            "chart_symbols": self.chart_symbols,
        }

    def control(self, command: dict) -> dict:
        """Apply a control command (the JSON body of POST /__control__) and return the stats."""
        if "mode" in command:
            self.mode = command["mode"]
        if command.get("clear_quotes"):
            self.clear_quotes()
        for symbol, spec in (command.get("quotes") or {}).items():
            self.set_quote(symbol, **spec)
        if "unknown_symbols" in command:
            self.unknown_symbols = {symbol.upper() for symbol in command["unknown_symbols"]}
        if "known_only" in command:
            self.known_only = bool(command["known_only"])
        if "moving" in command:
            self.moving = bool(command["moving"])
        if "quote_response" in command:
            self.set_quote_response(*(command["quote_response"] or [None]))
        if command.get("reset_counts"):
            self.reset_counts()
        if command.get("rotate_crumb"):
            self.rotate_crumb()
        return self.stats()

    # --- serving -------------------------------------------------------------

    @staticmethod
    def _new_crumb() -> str:
        return secrets.token_urlsafe(8)

    def _track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _handle(self, handler: _Handler, method: str) -> None:
        url = urlsplit(handler.path)
        path = url.path or "/"
        query = parse_qs(url.query)
        if path == CONTROL_PATH and method == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            try:
                command = json.loads(handler.rfile.read(length) or b"{}")
                return _send_json(handler, 200, self.control(command))
            except (ValueError, TypeError) as exc:
                return _send_json(handler, 400, {"error": str(exc)})
        if path == STATS_PATH:
            return _send_json(handler, 200, self.stats())

        counted = CHART_PREFIX if path.startswith(CHART_PREFIX + "/") else path
        with self._lock:
            self._counts[counted] = self._counts.get(counted, 0) + 1
        mode = self.mode
        if mode == "hang" or (mode == "hang_quote" and path == QUOTE_PATH):
            return self._hang(handler)
        if mode == "rate_limit":
            return _send(handler, 429, "Too Many Requests\r\n", "text/html")
        if path == "/":
            return self._cookie(handler)
        if path == CRUMB_PATH:
            if not _has_cookie(handler):
                return _send_json(handler, 401, _INVALID_COOKIE)
            return _send(handler, 200, self.crumb, "text/plain;charset=utf-8")
        if path == QUOTE_PATH:
            return self._quote(handler, query)
        if path.startswith(CHART_PREFIX + "/"):
            return self._chart(handler, path[len(CHART_PREFIX) + 1 :].upper())
        return _send(handler, 404, _HTML_PAGE, "text/html")

    def _hang(self, handler: _Handler) -> None:
        # Accept and never answer; returning on stop lets shutdown finish at once.
        self._stopping.wait()
        handler.close_connection = True

    def _cookie(self, handler: _Handler) -> None:
        expires = formatdate(time.time() + 365 * 24 * 3600, usegmt=True)
        value = f"d=AQABBK{secrets.token_hex(12)}&S=AQAAA{secrets.token_hex(8)}"
        cookie = f"A3={value}; Expires={expires}; Max-Age=31557600; Domain=.yahoo.com; Path=/; SameSite=None; Secure"
        _send(handler, 404, _HTML_PAGE, "text/html", headers=[("Set-Cookie", cookie)])

    def _quote(self, handler: _Handler, query: dict[str, list[str]]) -> None:
        raw_symbols = ",".join(query.get("symbols", []))
        symbols = [symbol.strip() for symbol in raw_symbols.split(",") if symbol.strip()]
        with self._lock:
            self._requested.append(symbols)
            self._last_quote_query = query
            override = self._quote_response
        if self.mode == "unauthorized" or query.get("crumb", [None])[0] != self.crumb or not _has_cookie(handler):
            return _send_json(handler, 401, _INVALID_CRUMB)
        if override is not None:
            return _send(handler, override[0], override[1], override[2])
        if not symbols:
            return _send_json(handler, 400, _MISSING_SYMBOLS)
        if self.mode == "html":
            return _send(handler, 200, _HTML_PAGE, "text/html")

        records = []
        for index, symbol in enumerate(symbols):
            if self.mode == "partial" and index % 2 == 1:
                continue
            spec = self._spec(symbol.upper())
            if spec is None:
                continue
            record = _quote_record(symbol.upper(), spec)
            if self.mode == "null_fields":
                record = {key: None for key in record} | {"symbol": record["symbol"]}
                if index % 2 == 0:
                    record["regularMarketPrice"] = spec["price"]
            records.append(record)
        body = json.dumps({"quoteResponse": {"result": records, "error": None}})
        if self.mode == "truncated":
            body = body[: len(body) // 2]
        _send(handler, 200, body, "application/json;charset=utf-8")

    def _spec(self, symbol: str) -> dict | None:
        """The quote to serve for `symbol` (upper case), or None when Yahoo would not know it."""
        with self._lock:
            if symbol in self._quotes:
                return dict(self._quotes[symbol])
            if self.known_only or symbol in self.unknown_symbols:
                return None
            generation = self._generations.get(symbol, 0)
            if self.moving:
                self._generations[symbol] = generation + 1
        return _default_spec(symbol, generation)

    def _chart(self, handler: _Handler, symbol: str) -> None:
        with self._lock:
            self._chart_symbols.append(symbol)
        spec = self._spec(symbol)
        if spec is None:
            return _send_json(handler, 404, _CHART_NOT_FOUND)
        _send_json(handler, 200, _chart_body(symbol, spec))


def _has_cookie(handler: BaseHTTPRequestHandler) -> bool:
    cookies = SimpleCookie()
    try:
        cookies.load(handler.headers.get("Cookie", ""))
    except Exception:  # a malformed Cookie header is simply no cookie
        return False
    return "A3" in cookies


def _send(handler, status: int, body: str, content_type: str, *, headers=()) -> None:
    data = body.encode()
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def _send_json(handler, status: int, payload: object) -> None:
    _send(handler, status, json.dumps(payload), "application/json;charset=utf-8")


def _numbers(spec: dict) -> dict:
    """Fill in the figures a test left out, the way Yahoo's would relate to each other."""
    price = spec["price"]
    numeric = isinstance(price, (int, float)) and not isinstance(price, bool) and math.isfinite(price)
    previous_close, change = spec.get("previous_close"), spec.get("change")
    if numeric and previous_close is None:
        previous_close = price - change if change is not None else price
    if numeric and change is None and previous_close is not None:
        change = price - previous_close  # float noise included, as in Yahoo's answers
    change_percent = spec.get("change_percent")
    if change_percent is None and change is not None and previous_close:
        change_percent = change / previous_close * 100
    high, low = spec.get("day_high"), spec.get("day_low")
    if numeric and high is None:
        high = max(price, previous_close)
    if numeric and low is None:
        low = min(price, previous_close)
    return {
        "previous_close": previous_close,
        "change": change,
        "change_percent": change_percent,
        "high": high,
        "low": low,
    }


def _quote_record(symbol: str, spec: dict) -> dict:
    """One entry of quoteResponse.result, with the keys (and their spelling) of a real answer."""
    currency, exchange, full_exchange, timezone_name, gmt_offset = _venue(symbol)
    numbers = _numbers(spec)
    name = spec.get("name") or f"{symbol} Holdings Inc."
    market_time = spec.get("market_time") or int(time.time())
    record = {
        "language": "en-US",
        "region": "US",
        "quoteType": spec.get("quote_type", "EQUITY"),
        "typeDisp": "Equity",
        "quoteSourceName": "Nasdaq Real Time Price",
        "triggerable": True,
        "customPriceAlertConfidence": "HIGH",
        "currency": spec.get("currency") or currency,
        "exchange": spec.get("exchange") or exchange,
        "shortName": name,
        "longName": name,
        "messageBoardId": f"finmb_{zlib.crc32(symbol.encode())}",
        "exchangeTimezoneName": timezone_name,
        "exchangeTimezoneShortName": "EST",
        "gmtOffSetMilliseconds": gmt_offset,
        "market": "us_market",
        "esgPopulated": False,
        "marketState": spec.get("market_state", "REGULAR"),
        "regularMarketChangePercent": numbers["change_percent"],
        "regularMarketPrice": spec["price"],
        "priceHint": spec.get("price_hint", 2),
        "regularMarketChange": numbers["change"],
        "regularMarketTime": market_time,
        "regularMarketDayHigh": numbers["high"],
        "regularMarketDayRange": f"{numbers['low']} - {numbers['high']}",
        "regularMarketDayLow": numbers["low"],
        "regularMarketVolume": spec.get("volume", 1_000_000),
        "regularMarketPreviousClose": numbers["previous_close"],
        "regularMarketOpen": numbers["previous_close"],
        "bid": spec["price"],
        "ask": spec["price"],
        "fullExchangeName": spec.get("full_exchange_name") or full_exchange,
        "financialCurrency": spec.get("currency") or currency,
        "averageDailyVolume3Month": 52_000_000,
        "fiftyTwoWeekLow": numbers["low"],
        "fiftyTwoWeekHigh": numbers["high"],
        "sourceInterval": 15,
        "exchangeDataDelayedBy": 0,
        "tradeable": False,
        "cryptoTradeable": False,
        "firstTradeDateMilliseconds": 345479400000,
        "displayName": name.split()[0],
        "symbol": symbol,
    }
    record.update(spec.get("raw") or {})
    for key in spec.get("missing") or ():
        record.pop(key, None)
    return record


def _trading_periods(market_state: str, now: int, gmt_offset_s: int) -> dict:
    """currentTradingPeriod such that `now` falls in the session `market_state` names."""
    hour = 3600
    regular_start = {
        "PREPRE": now + 6 * hour,
        "PRE": now + hour,
        "REGULAR": now - hour,
        "POST": now - 7 * hour,
        "POSTPOST": now - 12 * hour,
    }.get(market_state, now - 30 * hour)  # CLOSED and anything else: every session is over
    regular_end = regular_start + int(6.5 * hour)

    def period(start: int, end: int) -> dict:
        return {"timezone": "EST", "start": start, "end": end, "gmtoffset": gmt_offset_s}

    return {
        "pre": period(regular_start - int(5.5 * hour), regular_start),
        "regular": period(regular_start, regular_end),
        "post": period(regular_end, regular_end + 4 * hour),
    }


def _chart_body(symbol: str, spec: dict) -> dict:
    record = _quote_record(symbol, spec)
    now = int(time.time())
    gmt_offset_s = record["gmtOffSetMilliseconds"] // 1000
    timestamps = [now - 60 * minutes for minutes in range(4, -1, -1)]
    price = record["regularMarketPrice"]
    closes = [price for _ in timestamps]
    meta = {
        "currency": record["currency"],
        "symbol": symbol,
        "exchangeName": record["exchange"],
        "fullExchangeName": record["fullExchangeName"],
        "instrumentType": record["quoteType"],
        "firstTradeDate": 345479400,
        "regularMarketTime": record["regularMarketTime"],
        "hasPrePostMarketData": True,
        "gmtoffset": gmt_offset_s,
        "timezone": record["exchangeTimezoneShortName"],
        "exchangeTimezoneName": record["exchangeTimezoneName"],
        "regularMarketPrice": price,
        "fiftyTwoWeekHigh": record["fiftyTwoWeekHigh"],
        "fiftyTwoWeekLow": record["fiftyTwoWeekLow"],
        "regularMarketDayHigh": record["regularMarketDayHigh"],
        "regularMarketDayLow": record["regularMarketDayLow"],
        "regularMarketVolume": record["regularMarketVolume"],
        "longName": record["longName"],
        "shortName": record["shortName"],
        "chartPreviousClose": record["regularMarketPreviousClose"],
        "previousClose": record["regularMarketPreviousClose"],
        "scale": 3,
        "priceHint": record["priceHint"],
        "currentTradingPeriod": _trading_periods(record["marketState"], now, gmt_offset_s),
        "dataGranularity": "1m",
        "range": "1d",
        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
    }
    quote = {"open": closes, "high": closes, "low": closes, "close": closes, "volume": [1000 for _ in timestamps]}
    return {
        "chart": {
            "result": [{"meta": meta, "timestamp": timestamps, "indicators": {"quote": [quote]}}],
            "error": None,
        }
    }


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive like Yahoo, so clients reuse connections as they would in production.
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections end on their own.
    timeout = 60
    server: _Server

    def do_GET(self) -> None:
        self.server.fake._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._handle(self, "POST")

    def log_message(self, format: str, *args) -> None:
        pass  # tests and benchmarks read counts, not access logs


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeYahoo):
        self.fake = fake
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        # Track open connections so stop() can cut idle keep-alive ones.
        self.fake._track(request, open_=True)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        self.fake._track(request, open_=False)
        super().shutdown_request(request)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a fake Yahoo Finance server in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--mode", default="ok", choices=sorted(MODES))
    parser.add_argument("--known-only", action="store_true", help="only symbols set over /__control__ exist")
    args = parser.parse_args(argv)

    fake = FakeYahoo(args.host, args.port, known_only=args.known_only)
    fake.mode = args.mode
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    fake.start()
    print(f"FAKE_YAHOO_URL={fake.base_url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
