"""What a person does on the site, as Playwright steps."""

import re

from playwright.sync_api import Page, expect

PASSWORD = "a-long-unusual-pass-42"
NUMBER = re.compile(r"^\s*[\d,]+(\.\d+)?\s")


def sign_up(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}/watchlists/")


def log_in(page: Page, base_url: str, username: str, password: str, *, path: str = "/accounts/login/") -> None:
    page.goto(f"{base_url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[type=submit]")


def create_watchlist(page: Page, name: str, symbols: list[str]) -> str:
    page.fill("#id_name", name)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    for symbol in symbols:
        page.fill("#id_symbol", symbol)
        page.get_by_role("button", name="Add", exact=True).click()
        expect(row(page, symbol.strip().upper())).to_be_visible()
    return page.url


def row(page: Page, symbol: str):
    return page.locator(f'tr[data-symbol="{symbol}"]')


def price_cell(page: Page, symbol: str):
    return row(page, symbol).locator('[data-field="price"]')


def expect_prices(page: Page, symbols: list[str], timeout: float = 20_000) -> None:
    for symbol in symbols:
        expect(price_cell(page, symbol)).to_have_text(NUMBER, timeout=timeout)


def mark_page(page: Page) -> float:
    """Tag the loaded document; the tag survives only if the page is never reloaded."""
    return page.evaluate("window.__tickerwatchMark = Math.random()")


def wait_for_price_change(page: Page, symbol: str, timeout: float = 20_000) -> None:
    before = price_cell(page, symbol).inner_text()
    page.wait_for_function(
        "([symbol, before]) => {"
        ' const cell = document.querySelector(`tr[data-symbol="${symbol}"] [data-field=price]`);'
        " return cell && cell.innerText !== before; }",
        arg=[symbol, before],
        timeout=timeout,
    )
