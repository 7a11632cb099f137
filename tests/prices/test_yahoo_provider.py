"""The Yahoo provider against a local fake Yahoo: the real yfinance cookie/crumb code runs.

No database. YF_DISABLE_CURL_CFFI=1 comes from tests/environment.py; the tests
also hold with yfinance's curl_cffi backend, because the provider hands
yfinance a requests session whenever it talks to a fake Yahoo.
"""

import inspect
import logging
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import yfinance
from curl_cffi.requests import exceptions as curl_exceptions
from django.conf import settings
from requests.adapters import HTTPAdapter
from yfinance.config import YfConfig
from yfinance.data import SingletonMeta, YfData
from yfinance.exceptions import YFException, YFRateLimitError

from prices.models import MarketState
from prices.providers import FailureKind, FetchResult, QuoteData, provider_get, yahoo
from prices.providers.yahoo import YahooProvider, quote_from_record
from tests.support.fake_yahoo import MODES, FakeYahoo

QUOTE = "/v7/finance/quote"
# Thread start-up, parsing and logging on a busy 2-core machine.
MARGIN = 0.5


@pytest.fixture(scope="session", autouse=True)
def yfinance_cache(tmp_path_factory):
    # First call wins for the whole process; if another module built a provider
    # first, this returns where the cache really is.
    return yahoo.yfinance_cache_configure(tmp_path_factory.mktemp("yfinance-cache"))


@pytest.fixture(autouse=True)
def fresh_yfdata():
    # YfData is a process-wide singleton that keeps its session, cookie and crumb.
    SingletonMeta._instances.pop(YfData, None)
    yield
    SingletonMeta._instances.pop(YfData, None)


def _wait_for_idle_workers(limit: float = 10.0) -> None:
    give_up = time.monotonic() + limit
    while yahoo.calls_in_flight() and time.monotonic() < give_up:
        time.sleep(0.02)
    assert yahoo.calls_in_flight() == 0, "a Yahoo worker thread is still hung"


@pytest.fixture
def fake():
    with FakeYahoo() as server:
        yield server
    # Stopping the fake releases hung handlers; the next test starts with free worker slots.
    _wait_for_idle_workers()


@pytest.fixture
def provider(fake):
    return YahooProvider(timeout=5, base_url=fake.base_url)


def _symbols(count: int) -> list[str]:
    return [f"S{index:03d}" for index in range(count)]


# --- mapping ----------------------------------------------------------------


def test_maps_a_full_quote_rounding_away_float_noise(fake, provider):
    fake.set_quote(
        "AAPL",
        price=244.6,
        change=3.0700073,
        change_percent=1.2710667,
        previous_close=241.53,
        name="Apple Inc.",
        exchange="NMS",
        full_exchange_name="NasdaqGS",
        market_state="CLOSED",
        market_time=1739566800,
        volume=40896227,
        day_high=245.5500031,
        day_low=241.84,
    )

    result = provider.fetch(["AAPL"])

    assert result.failures == []
    assert result.requests == 1
    assert result.quotes == [
        QuoteData(
            symbol="AAPL",
            price=Decimal("244.6"),
            name="Apple Inc.",
            exchange="NasdaqGS",
            quote_type="EQUITY",
            currency="USD",
            previous_close=Decimal("241.53"),
            change=Decimal("3.070007"),
            change_percent=Decimal("1.2711"),
            day_high=Decimal("245.550003"),
            day_low=Decimal("241.84"),
            volume=40896227,
            price_hint=2,
            market_state="CLOSED",
            market_time=datetime(2025, 2, 14, 21, 0, tzinfo=UTC),
        )
    ]


def test_currency_sub_units_and_price_hints_are_kept(fake, provider):
    fake.set_quote("VOD.L", price=71.62, currency="GBp", price_hint=2)
    fake.set_quote("EURUSD=X", price=1.0471204519, currency="USD", price_hint=4, quote_type="CURRENCY")
    fake.set_quote("7203.T", price=2759.0, currency="JPY", price_hint=0)

    quotes = {quote.symbol: quote for quote in provider.fetch(["VOD.L", "EURUSD=X", "7203.T"]).quotes}

    assert (quotes["VOD.L"].currency, quotes["VOD.L"].price) == ("GBp", Decimal("71.62"))
    assert (quotes["EURUSD=X"].price_hint, quotes["EURUSD=X"].price) == (4, Decimal("1.04712"))
    assert quotes["EURUSD=X"].quote_type == "CURRENCY"
    assert (quotes["7203.T"].currency, quotes["7203.T"].price_hint) == ("JPY", 0)


@pytest.mark.parametrize("state", sorted(yahoo.MARKET_STATES))
def test_yahoo_market_states_pass_through(fake, provider, state):
    fake.set_quote("AAPL", price=1.0, market_state=state)
    assert provider.fetch(["AAPL"]).quotes[0].market_state == state


def test_market_states_match_the_model_choices():
    assert yahoo.MARKET_STATES | {MarketState.UNKNOWN} == set(MarketState.values)


def test_symbols_match_case_insensitively_and_keep_the_requested_spelling(fake, provider):
    fake.set_quote("BRK-B", price=480.1)
    result = provider.fetch(["brk-b", "BRK-B"])
    assert fake.requested_symbols == [["brk-b"]]
    assert [quote.symbol for quote in result.quotes] == ["brk-b"]
    assert result.unknown == []


BASE_RECORD = {"symbol": "AAPL", "regularMarketPrice": 10.0}


@pytest.mark.parametrize(
    "price",
    [None, "244.6", -0.01, True, float("nan"), float("inf"), {"raw": 1.0}],
    ids=["null", "string", "negative", "bool", "nan", "inf", "object"],
)
def test_records_without_a_usable_price_are_skipped(price):
    assert quote_from_record("AAPL", {**BASE_RECORD, "regularMarketPrice": price}) is None
    assert quote_from_record("AAPL", {"symbol": "AAPL"}) is None


@pytest.mark.parametrize(("hint", "expected"), [(4, 4), (99, 10), (-3, 0), ("x", 2), (None, 2), (2.0, 2)])
def test_price_hint_is_clamped(hint, expected):
    assert quote_from_record("AAPL", {**BASE_RECORD, "priceHint": hint}).price_hint == expected


def test_missing_fields_fall_back_to_defaults_and_names_to_other_keys():
    quote = quote_from_record("AAPL", {**BASE_RECORD, "displayName": "Apple", "exchange": "NMS", "marketState": "X"})
    assert (quote.name, quote.exchange, quote.market_state) == ("Apple", "NMS", "UNKNOWN")
    assert quote.change is quote.previous_close is quote.volume is quote.market_time is None
    assert quote.price == Decimal("10.0")


def test_market_time_in_milliseconds_and_nonsense_times():
    at = datetime(2025, 2, 14, 21, 0, tzinfo=UTC)
    assert quote_from_record("X", {**BASE_RECORD, "regularMarketTime": 1739566800000}).market_time == at
    assert quote_from_record("X", {**BASE_RECORD, "regularMarketTime": "soon"}).market_time is None
    assert quote_from_record("X", {**BASE_RECORD, "regularMarketTime": -5}).market_time is None


def test_negative_zero_change_is_plain_zero():
    quote = quote_from_record("X", {**BASE_RECORD, "regularMarketChange": -0.0000001})
    assert str(quote.change) == "0.0"


# --- batching ---------------------------------------------------------------


def test_one_request_per_batch_of_fifty(fake, provider):
    symbols = _symbols(120)
    result = provider.fetch(symbols)

    assert fake.count(QUOTE) == 3
    assert result.requests == 3
    assert [len(batch) for batch in fake.requested_symbols] == [50, 50, 20]
    assert sorted(symbol for batch in fake.requested_symbols for symbol in batch) == symbols
    assert sorted(quote.symbol for quote in result.quotes) == symbols
    assert result.failures == [] and result.unknown == []


def test_cookie_and_crumb_are_fetched_once_not_per_request(fake, provider):
    provider.fetch(_symbols(120))
    provider.fetch(_symbols(10))
    assert fake.count(QUOTE) == 4
    assert fake.count("/v1/test/getcrumb") == 1
    assert fake.count("/") <= 1  # 0 when a cookie cached by an earlier test is still valid


def test_symbols_missing_from_the_answer_are_unknown(fake, provider):
    fake.mode = "partial"
    result = provider.fetch(["AAA", "BBB", "CCC", "DDD"])
    assert [quote.symbol for quote in result.quotes] == ["AAA", "CCC"]
    assert result.unknown == ["BBB", "DDD"]
    assert result.failures == []


def test_known_only_answers_unknown_symbols_by_leaving_them_out(fake, provider):
    fake.known_only = True
    fake.set_quote("AAPL", price=1.5)
    result = provider.fetch(["AAPL", "NOPE"])
    assert [quote.symbol for quote in result.quotes] == ["AAPL"]
    assert result.unknown == ["NOPE"]


def test_no_symbols_no_request(fake, provider):
    assert provider.fetch([]) == FetchResult()
    assert fake.counts == {}


def test_provider_get_builds_the_yahoo_provider_from_settings(settings, fake):
    settings.QUOTE_PROVIDER = "yahoo"
    settings.QUOTE_YAHOO_BASE_URL = fake.base_url
    settings.QUOTE_FETCH_TIMEOUT_SECONDS = 3.0
    provider = provider_get()
    assert isinstance(provider, YahooProvider)
    assert provider.fetch(["AAPL"]).quotes[0].symbol == "AAPL"
    assert fake.count(QUOTE) == 1


# --- failures ---------------------------------------------------------------


def test_rate_limit_stops_the_fetch_and_fails_every_remaining_symbol(fake, provider, caplog):
    fake.mode = "rate_limit"
    symbols = _symbols(120)

    with caplog.at_level(logging.WARNING, logger="prices.providers.yahoo"):
        result = provider.fetch(symbols)

    assert [failure.kind for failure in result.failures] == [FailureKind.RATE_LIMITED]
    assert sorted(result.failure.symbols) == symbols
    assert result.quotes == [] and result.unknown == []
    assert result.requests == 1
    # yfinance retries a 429 once; the second and third batches are never sent.
    assert all(batch == symbols[:50] for batch in fake.requested_symbols)
    assert fake.count(QUOTE) <= 2
    assert "rate-limited the quote request for 120 symbol(s)" in caplog.text
    assert "backing off" in caplog.text


def test_after_a_rate_limit_the_next_fetch_needs_no_extra_round_trip(fake, provider):
    provider.fetch(["AAPL"])
    fake.mode = "rate_limit"
    provider.fetch(["AAPL"])
    fake.mode = "ok"
    fake.reset_counts()

    result = provider.fetch(["AAPL"])

    assert result.failures == []
    assert fake.count(QUOTE) == 1  # no 401 from a "Too Many Requests" crumb


def test_stale_crumb_is_renewed_by_yfinance_and_the_fetch_succeeds(fake, provider):
    provider.fetch(["AAPL"])
    fake.rotate_crumb()
    fake.reset_counts()

    result = provider.fetch(["AAPL"])

    assert result.failures == []
    assert [quote.symbol for quote in result.quotes] == ["AAPL"]
    assert fake.count(QUOTE) == 2  # the 401, then yfinance's retry with a fresh crumb
    assert fake.count("/v1/test/getcrumb") == 1
    assert result.requests == 1


def test_persistent_401_is_an_auth_failure(fake, provider, caplog):
    fake.mode = "unauthorized"
    with caplog.at_level(logging.WARNING, logger="prices.providers.yahoo"):
        result = provider.fetch(["AAPL", "MSFT"])
    assert result.failure.kind == FailureKind.AUTH
    assert result.failure.symbols == ("AAPL", "MSFT")
    assert result.quotes == []
    assert "cookie/crumb" in caplog.text


def test_a_silent_server_is_cut_at_the_timeout(fake):
    fake.mode = "hang"  # the cookie request hangs too: yfinance would wait 30 s for it
    provider = YahooProvider(timeout=1, base_url=fake.base_url)

    started = time.monotonic()
    result = provider.fetch(_symbols(60))
    elapsed = time.monotonic() - started

    assert elapsed < 1 + MARGIN
    assert result.failure.kind == FailureKind.TIMEOUT
    assert sorted(result.failure.symbols) == _symbols(60)
    assert len(result.failures) == 1


def test_a_hung_quote_request_also_ends_its_worker_thread(fake):
    provider = YahooProvider(timeout=1, base_url=fake.base_url)
    provider.fetch(["AAPL"])  # cookie and crumb now known
    fake.mode = "hang_quote"

    result = provider.fetch(["AAPL"])

    assert result.failure.kind == FailureKind.TIMEOUT
    # The timeout reaches yfinance too, so the thread ends while the server still hangs.
    give_up = time.monotonic() + 2 + MARGIN
    while yahoo.calls_in_flight() and time.monotonic() < give_up:
        time.sleep(0.02)
    assert yahoo.calls_in_flight() == 0


def test_hung_calls_do_not_pile_up(fake, caplog):
    fake.mode = "hang"
    provider = YahooProvider(timeout=0.2, base_url=fake.base_url)
    for _ in range(yahoo.MAX_CALLS_IN_FLIGHT):
        assert provider.fetch(["AAPL"]).failure.kind == FailureKind.TIMEOUT
    assert yahoo.calls_in_flight() == yahoo.MAX_CALLS_IN_FLIGHT

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="prices.providers.yahoo"):
        result = provider.fetch(["AAPL", "MSFT"])

    assert time.monotonic() - started < 0.1
    assert result.failure.kind == FailureKind.TIMEOUT
    assert result.failure.symbols == ("AAPL", "MSFT")
    assert result.requests == 0
    assert "still hung" in caplog.text
    assert yahoo.calls_in_flight() == yahoo.MAX_CALLS_IN_FLIGHT


class _RaisingAdapter(HTTPAdapter):
    def __init__(self, make_error):
        super().__init__()
        self.make_error = make_error
        self.calls = 0

    def send(self, request, **kwargs):
        self.calls += 1
        raise self.make_error(request)


def _session_raising(make_error) -> requests.Session:
    session = requests.Session()
    session.mount("https://", _RaisingAdapter(make_error))
    return session


def _dns_failure(request):
    host = requests.utils.urlparse(request.url).hostname
    return requests.exceptions.ConnectionError(
        f"HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded "
        f"(Caused by NameResolutionError(\"Failed to resolve '{host}' ([Errno -3] Temporary failure in name "
        'resolution)"))'
    )


def _curl_dns_failure(request):
    host = requests.utils.urlparse(request.url).hostname
    return curl_exceptions.DNSError(f"Failed to perform, curl: (6) Could not resolve host: {host}.")


@pytest.mark.parametrize("make_error", [_dns_failure, _curl_dns_failure], ids=["requests", "curl_cffi"])
def test_dns_failure_is_a_network_failure(make_error, caplog):
    provider = YahooProvider(timeout=2, session=_session_raising(make_error))
    with caplog.at_level(logging.WARNING, logger="prices.providers.yahoo"):
        result = provider.fetch(["AAPL"])
    assert result.failure.kind == FailureKind.NETWORK
    assert "resolve" in result.failure.detail
    assert result.failure.symbols == ("AAPL",)
    assert "Could not reach Yahoo for 1 symbol(s)" in caplog.text


def test_refused_connection_is_a_network_failure():
    with FakeYahoo() as server:
        base_url = server.base_url
    result = YahooProvider(timeout=2, base_url=base_url).fetch(_symbols(60))
    assert result.failure.kind == FailureKind.NETWORK
    assert len(result.failure.symbols) == 60  # the second batch is not tried against a dead host
    assert len(result.failures) == 1


@pytest.mark.parametrize("mode", ["html", "truncated"])
def test_garbage_is_a_bad_response(fake, provider, mode):
    fake.mode = mode
    result = provider.fetch(["AAPL", "MSFT"])
    assert result.failure.kind == FailureKind.BAD_RESPONSE
    assert result.failure.symbols == ("AAPL", "MSFT")
    assert "not JSON" in result.failure.detail


def test_a_bad_batch_does_not_stop_the_next_one(fake, provider):
    fake.mode = "html"
    result = provider.fetch(_symbols(60))
    assert [failure.kind for failure in result.failures] == [FailureKind.BAD_RESPONSE] * 2
    assert result.requests == 2


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, '{"finance": {"result": null, "error": null}}', FailureKind.BAD_RESPONSE),
        (200, '{"quoteResponse": null}', FailureKind.BAD_RESPONSE),
        (200, '{"quoteResponse": {"result": {"symbol": "AAPL"}, "error": null}}', FailureKind.BAD_RESPONSE),
        (200, '{"quoteResponse": {"result": ["AAPL"], "error": null}}', FailureKind.BAD_RESPONSE),
        (200, "[]", FailureKind.BAD_RESPONSE),
        (200, "", FailureKind.BAD_RESPONSE),
        (200, '{"quoteResponse": {"result": null, "error": {"code": "Bad"}}}', FailureKind.UPSTREAM_ERROR),
        (500, '{"finance": {"error": {"code": "internal-error"}}}', FailureKind.UPSTREAM_ERROR),
        (503, "<html>Service Unavailable</html>", FailureKind.UPSTREAM_ERROR),
        (404, "Not Found", FailureKind.UPSTREAM_ERROR),
    ],
)
def test_wrong_shapes_and_statuses(fake, provider, status, body, kind):
    fake.set_quote_response(status, body)
    result = provider.fetch(["AAPL"])
    assert result.failure.kind == kind
    assert result.failure.symbols == ("AAPL",)
    assert result.quotes == []


def test_unrequested_and_nameless_records_are_ignored(fake, provider):
    body = '{"quoteResponse": {"result": [{"symbol": "OTHER", "regularMarketPrice": 1}, {"x": 1}, '
    body += '{"symbol": "AAPL", "regularMarketPrice": 2}], "error": null}}'
    fake.set_quote_response(200, body)
    result = provider.fetch(["AAPL", "MSFT"])
    assert [quote.symbol for quote in result.quotes] == ["AAPL"]
    assert result.unknown == ["MSFT"]


def test_null_fields_skip_priceless_records_and_default_the_rest(fake, provider, caplog):
    fake.mode = "null_fields"
    with caplog.at_level(logging.WARNING, logger="prices.providers.yahoo"):
        result = provider.fetch(["AAA", "BBB", "CCC"])

    assert [quote.symbol for quote in result.quotes] == ["AAA", "CCC"]
    assert result.unknown == [] and result.failures == []
    quote = result.quotes[0]
    assert (quote.name, quote.currency, quote.price_hint, quote.market_state) == ("", "", 2, "UNKNOWN")
    assert quote.change is quote.market_time is quote.volume is None
    assert "BBB" in caplog.text and "no usable price" in caplog.text


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (YFRateLimitError(), FailureKind.RATE_LIMITED),
        (requests.exceptions.ReadTimeout("read timed out"), FailureKind.TIMEOUT),
        (requests.exceptions.ConnectTimeout("connect timed out"), FailureKind.TIMEOUT),
        (curl_exceptions.Timeout("curl: (28) Operation timed out"), FailureKind.TIMEOUT),
        (TimeoutError("timed out"), FailureKind.TIMEOUT),
        (ConnectionResetError(104, "Connection reset by peer"), FailureKind.NETWORK),
        (curl_exceptions.ConnectionError("curl: (7) Failed to connect"), FailureKind.NETWORK),
        (KeyError("A3"), FailureKind.NETWORK),
        (TypeError("'>' not supported between instances of 'NoneType' and 'float'"), FailureKind.NETWORK),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_exceptions_from_yfinance_become_failures(monkeypatch, fake, provider, error, kind):
    def broken_get(self, url, params=None, timeout=30):
        raise error

    monkeypatch.setattr(YfData, "get", broken_get)
    result = provider.fetch(["AAPL"])
    assert result.failure.kind == kind
    assert result.failure.symbols == ("AAPL",)


def test_the_real_cause_is_found_behind_an_error_raised_while_handling_it(monkeypatch, fake, provider):
    # What yfinance 1.7.0 does on the requests backend: `except requests.exceptions.DNSError`
    # itself raises AttributeError while a ConnectionError is being handled.
    def broken_get(self, url, params=None, timeout=30):
        try:
            raise requests.exceptions.ConnectionError("Failed to resolve 'fc.yahoo.com'")
        except requests.exceptions.ConnectionError:
            raise AttributeError("module 'requests.exceptions' has no attribute 'DNSError'")  # noqa: B904

    monkeypatch.setattr(YfData, "get", broken_get)
    result = provider.fetch(["AAPL"])
    assert result.failure.kind == FailureKind.NETWORK
    assert "resolve" in result.failure.detail


@pytest.mark.parametrize("mode", sorted(MODES))
def test_no_exception_escapes_and_every_symbol_lands_somewhere_once(fake, mode):
    fake.mode = mode
    symbols = _symbols(70)
    result = YahooProvider(timeout=0.5, base_url=fake.base_url).fetch(symbols)

    assert isinstance(result, FetchResult)
    quoted = [quote.symbol for quote in result.quotes]
    failed = [symbol for failure in result.failures for symbol in failure.symbols]
    placed = quoted + result.unknown + failed
    assert len(placed) == len(set(placed))
    assert set(placed) <= set(symbols)
    if mode != "null_fields":  # there, priceless records are skipped on purpose
        assert sorted(placed) == symbols


# --- the redirecting session ------------------------------------------------


def test_redirecting_session_sends_yahoo_hosts_to_the_base_url_as_if_it_were_yahoo(fake):
    session = yahoo.redirecting_session(fake.base_url)
    response = session.get("https://fc.yahoo.com/", timeout=2)
    assert response.url == "https://fc.yahoo.com/"
    assert fake.count("/") == 1
    # Filed under Yahoo's domain, so yfinance finds and caches it as it would for real.
    assert [cookie.domain for cookie in session.cookies if cookie.name == "A3"] == [".yahoo.com"]
    stats = session.get("https://query2.finance.yahoo.com/__stats__?x=1", timeout=2).json()
    assert stats["counts"] == {"/": 1}


def test_other_hosts_are_not_redirected(fake):
    session = yahoo.redirecting_session("http://127.0.0.1:9")  # nothing listens there
    assert session.get(f"{fake.base_url}/__stats__", timeout=2).status_code == 200


# --- contract with yfinance internals (fails loudly on a yfinance bump that breaks us) ---


def test_yfinance_version_is_the_one_verified():
    assert yfinance.__version__ == yahoo.YFINANCE_VERSION_VERIFIED, (
        "yfinance changed: re-check the internals listed in prices/providers/yahoo.py's docstring "
        "(this module's contract tests), then update YFINANCE_VERSION_VERIFIED"
    )


def test_yfdata_is_a_singleton_whose_session_can_be_swapped():
    first, second = requests.Session(), requests.Session()
    data = YfData(session=first)
    assert type(YfData)._instances[YfData] is data
    assert data._session is first
    assert YfData(session=second) is data
    assert data._session is second
    for attribute in ("_crumb", "_cookie"):
        assert hasattr(data, attribute)
    assert isinstance(data._cookie_lock, type(threading.Lock()))


def test_yfdata_get_takes_params_and_timeout():
    for method in (YfData.get, YfData.get_raw_json):
        parameters = inspect.signature(method).parameters
        assert {"url", "params", "timeout"} <= set(parameters)


def test_yfdata_adds_the_crumb_itself_and_refuses_ours(fake):
    data = YfData(session=yahoo.redirecting_session(fake.base_url))
    response = data.get(yahoo.QUOTE_URL, params={"symbols": "AAPL", "formatted": "false"}, timeout=2)
    assert response.status_code == 200
    assert fake.last_quote_query["crumb"] == [fake.crumb]
    assert data.get_raw_json(yahoo.QUOTE_URL, params={"symbols": "AAPL"}, timeout=2)["quoteResponse"]["result"]
    with pytest.raises(YFException, match="crumb"):
        data.get(yahoo.QUOTE_URL, params={"symbols": "AAPL", "crumb": "mine"}, timeout=2)


def test_yfdata_raises_rate_limit_error_and_keeps_a_poisoned_crumb(fake):
    # Why the provider clears a "Too Many Requests" crumb: if this starts failing, yfinance fixed it.
    fake.mode = "rate_limit"
    data = YfData(session=yahoo.redirecting_session(fake.base_url))
    with pytest.raises(YFRateLimitError):
        data.get(yahoo.QUOTE_URL, params={"symbols": "AAPL"}, timeout=2)
    assert "Too Many Requests" in data._crumb


def test_yfinance_makes_no_hidden_transient_retries():
    assert YfConfig.network.retries == 0


def test_yfinance_caches_live_in_our_folder(fake, provider, yfinance_cache):
    provider.fetch(["AAPL"])
    assert yfinance.cache._CookieDBManager.get_location() == str(yfinance_cache)
    assert yfinance.cache._TzDBManager.get_location() == str(yfinance_cache)
    assert (yfinance_cache / "cookies.db").exists()


_CHILD = """
import sys, time
from prices.providers import yahoo
yahoo.yfinance_cache_configure(sys.argv[2])
provider = yahoo.YahooProvider(timeout=10, base_url=sys.argv[1])
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
result = provider.fetch(["AAPL", "MSFT"])
print(len(result.quotes), [failure.detail for failure in result.failures])
"""


def test_processes_starting_together_share_the_cookie_cache_safely(fake, tmp_path):
    # Unserialised, yfinance's delete-then-insert of the first cookie failed about one process in six.
    start_at = str(time.time() + 3)  # after every child has imported yfinance
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, fake.base_url, str(tmp_path / "cache"), start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=settings.BASE_DIR,
        )
        for _ in range(6)
    ]
    outputs = [child.communicate(timeout=60)[0].strip().splitlines()[-1] for child in children]
    assert outputs == ["2 []"] * 6
    assert fake.count("/") == 1  # one process fetched the cookie, the others loaded it


@pytest.mark.parametrize("state", [[], {}, 3, None, "SIDEWAYS"])
def test_an_odd_market_state_reads_as_unknown(state):
    # Found by the property tests: an unhashable marketState used to raise TypeError.
    quote = quote_from_record("AAPL", {"symbol": "AAPL", "regularMarketPrice": 1.5, "marketState": state})
    assert quote is not None and quote.market_state == "UNKNOWN"
