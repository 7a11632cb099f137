"""The Yahoo path end to end: yfinance in the real worker, against a fake Yahoo HTTP server this test runs."""

import pytest
from playwright.sync_api import expect

from tests.support.fake_yahoo import FakeYahoo

from .pages import create_watchlist, expect_prices, mark_page, price_cell, row, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def fake_yahoo_server():
    with FakeYahoo(known_only=True) as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(make_stack, fake_yahoo_server):
    return make_stack(QUOTE_PROVIDER="yahoo", QUOTE_YAHOO_BASE_URL=fake_yahoo_server.base_url, QUOTE_POLL_SECONDS="2")


def test_prices_from_yahoo_reach_the_page_and_move(page, stack, fake_yahoo_server):
    fake = fake_yahoo_server
    fake.set_quote(
        "AAPL",
        price=244.6,
        previous_close=241.53,
        change=3.0700073,
        change_percent=1.2710667,
        name="Apple Inc.",
        currency="USD",
    )
    fake.set_quote(
        "VOD.L",
        price=72.52,
        previous_close=71.9,
        change=0.62,
        change_percent=0.862,
        name="Vodafone Group Plc",
        currency="GBp",
        exchange="LSE",
        full_exchange_name="LSE",
    )

    sign_up(page, stack.url, "yahoo-user")
    create_watchlist(page, "Through Yahoo", ["AAPL", "VOD.L", "NOSUCH1"])
    mark = mark_page(page)

    expect(price_cell(page, "AAPL")).to_contain_text("244.60")
    expect(row(page, "AAPL").locator('[data-field="change"]')).to_have_text("+3.07")
    expect(row(page, "AAPL").locator('[data-field="name"]')).to_have_text("Apple Inc.")
    expect(price_cell(page, "VOD.L")).to_contain_text("GBp")
    expect(row(page, "NOSUCH1").locator('[data-field="name"]')).to_have_text("Unknown symbol")
    expect(page.locator(".badge--sim")).to_have_count(0)

    fake.set_quote("AAPL", price=250.1, previous_close=241.53, change=8.57, change_percent=3.548, name="Apple Inc.")
    expect(price_cell(page, "AAPL")).to_contain_text("250.10", timeout=20_000)
    expect_prices(page, ["AAPL", "VOD.L"])
    assert page.evaluate("window.__tickerwatchMark") == mark, "the page was reloaded"
    # Every request went through yfinance's cookie and crumb dance, in batches.
    assert fake.count("/v7/finance/quote") >= 2
    assert all(len(batch) <= 50 for batch in fake.requested_symbols)
    assert fake.chart_symbols == []  # never the per-symbol chart API
