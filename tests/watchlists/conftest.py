import pytest


@pytest.fixture
def three_lists(user, other_user, make_watchlist):
    """Three lists sharing symbols: five distinct ones among them."""
    return [
        make_watchlist(user, "One", ["AAPL", "MSFT", "NVDA"]),
        make_watchlist(user, "Two", ["MSFT", "NVDA", "^GSPC"]),
        make_watchlist(other_user, "Three", ["NVDA", "^GSPC", "EURUSD=X"]),
    ]
