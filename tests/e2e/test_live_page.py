"""The product as its users meet it: real daphne, Celery worker and beat, Redis, the database and Chromium.

Prices come from the simulated provider here; test_yahoo_path.py does the same through Yahoo's format.
"""

import re

import pytest
from playwright.sync_api import expect

from .pages import (
    PASSWORD,
    create_watchlist,
    expect_prices,
    log_in,
    mark_page,
    price_cell,
    row,
    sign_up,
    wait_for_price_change,
)

STALE = re.compile(r"\bis-stale\b")

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def stack(make_stack):
    return make_stack()


def test_sign_up_create_a_list_and_watch_prices_move(page, stack, screenshots, browser):
    sign_up(page, stack.url, "ada")
    url = create_watchlist(page, "Tech", ["AAPL", "msft", "NVDA"])
    mark = mark_page(page)

    expect_prices(page, ["AAPL", "MSFT", "NVDA"])
    wait_for_price_change(page, "AAPL")
    wait_for_price_change(page, "NVDA")
    assert page.evaluate("window.__tickerwatchMark") == mark, "the page was reloaded"
    expect(page.locator("#connection")).to_have_text("Live")
    expect(page.locator(".badge--sim")).to_be_visible()

    page.screenshot(path=screenshots / "watchlist-desktop.png", full_page=True)
    state = page.context.storage_state()
    for name, options in {
        "watchlist-phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True},
        "watchlist-desktop-dark": {"viewport": {"width": 1280, "height": 860}, "color_scheme": "dark"},
        "watchlist-phone-dark": {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark", "is_mobile": True},
    }.items():
        context = browser.new_context(storage_state=state, **options)
        other = context.new_page()
        other.goto(url)
        expect_prices(other, ["AAPL", "MSFT", "NVDA"])
        width = other.evaluate("document.documentElement.scrollWidth")
        assert width <= options["viewport"]["width"], f"{name}: the page scrolls sideways ({width}px)"
        other.screenshot(path=screenshots / f"{name}.png", full_page=True)
        context.close()


def test_a_symbol_added_in_the_admin_appears_on_the_open_page(page, stack, browser):
    stack.manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "root",
        "--email",
        "root@example.com",
        extra_env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    sign_up(page, stack.url, "grace")
    create_watchlist(page, "Admin edits", ["AAPL"])
    mark = mark_page(page)
    expect_prices(page, ["AAPL"])

    admin = browser.new_context().new_page()
    log_in(admin, stack.url, "root", PASSWORD, path="/admin/login/")
    admin.goto(f"{stack.url}/admin/watchlists/watchlist/")
    admin.get_by_role("link", name="Admin edits").click()
    admin.fill('input[name="items-1-symbol"]', "tsla")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    admin.context.close()

    expect(row(page, "TSLA")).to_be_visible()
    expect_prices(page, ["TSLA"])
    assert page.evaluate("window.__tickerwatchMark") == mark, "the page was reloaded"


def test_rows_turn_stale_when_the_worker_stops_and_recover_when_it_returns(page, stack):
    sign_up(page, stack.url, "linus")
    create_watchlist(page, "Outage", ["AAPL", "MSFT"])
    expect_prices(page, ["AAPL", "MSFT"])
    status = page.locator("#source-status")
    expect(status).to_be_hidden()

    stack.worker.stop()
    try:
        expect(row(page, "AAPL")).to_have_class(STALE, timeout=20_000)
        expect(row(page, "MSFT")).to_have_class(STALE)
        expect(status).to_be_visible()
        expect(status).to_contain_text("No updates")
        # The last prices stay on screen, marked, rather than vanishing.
        expect_prices(page, ["AAPL", "MSFT"], timeout=1_000)
    finally:
        stack.start_worker()

    expect(row(page, "AAPL")).not_to_have_class(STALE, timeout=20_000)
    expect(status).to_be_hidden()
    wait_for_price_change(page, "AAPL")


def test_the_page_reconnects_by_itself_after_daphne_restarts(page, stack):
    sign_up(page, stack.url, "barbara")
    create_watchlist(page, "Restart", ["AAPL"])
    expect_prices(page, ["AAPL"])
    mark = mark_page(page)
    connection = page.locator("#connection")
    expect(connection).to_have_text("Live")

    stack.web.kill()
    try:
        expect(connection).not_to_have_text("Live", timeout=20_000)
    finally:
        stack.start_web()

    expect(connection).to_have_text("Live", timeout=40_000)
    wait_for_price_change(page, "AAPL")
    assert page.evaluate("window.__tickerwatchMark") == mark, "the page was reloaded"
    assert price_cell(page, "AAPL").inner_text()


def test_columns_sort_and_the_order_survives_live_updates(page, stack):
    sign_up(page, stack.url, "edsger")
    create_watchlist(page, "Sorting", ["AAPL", "MSFT", "NVDA", "BTC-USD"])
    expect_prices(page, ["AAPL", "MSFT", "NVDA", "BTC-USD"])

    def shown_order():
        return page.locator("#quotes tbody tr[data-symbol]").evaluate_all("rows => rows.map(r => r.dataset.symbol)")

    def prices():
        return page.locator("#quotes tbody tr[data-symbol] [data-field=price]").evaluate_all(
            "cells => cells.map(c => parseFloat(c.innerText.replace(/,/g, '')))"
        )

    price_header = page.locator('th[data-sort="price"]')
    price_header.get_by_role("button").click()
    expect(price_header).to_have_attribute("aria-sort", "ascending")
    page.mouse.move(0, 0)  # rows hold still under the pointer; move it away
    page.wait_for_timeout(4_000)  # a few live ticks
    assert prices() == sorted(prices())
    price_header.get_by_role("button").click()
    expect(price_header).to_have_attribute("aria-sort", "descending")
    page.mouse.move(0, 0)
    page.wait_for_timeout(4_000)
    assert prices() == sorted(prices(), reverse=True)
    assert shown_order()[0] == "BTC-USD"
    price_header.get_by_role("button").click()  # back to the list's own order
    expect(price_header).to_have_attribute("aria-sort", "none")
    expect(page.locator("#quotes tbody tr[data-symbol]").first).to_have_attribute("data-symbol", "AAPL")
    assert shown_order() == ["AAPL", "MSFT", "NVDA", "BTC-USD"]
