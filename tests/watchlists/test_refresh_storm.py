"""A crowd of lists opening at once (a restarted web process) must not cause a full fetch per list.

Found by the fan-out benchmark at 3000 sockets: every newly opened list's
refresh fetched every due symbol and published to every open list, so 300
lists reconnecting meant 300 back-to-back fetch-and-publish runs.
"""

import pytest

from watchlists import live

pytestmark = pytest.mark.django_db


def test_a_refresh_finding_fresh_quotes_fetches_and_publishes_nothing(fake_yahoo, make_user, make_watchlist):
    first_list = make_watchlist(make_user("storm1"), "Storm", ["AAPL", "MSFT"])
    second_list = make_watchlist(make_user("storm2"), "Storm", ["MSFT", "AAPL"])

    first = live.watchlist_refresh_run(watchlist_id=first_list.pk)
    assert first.upstream_requests == 1

    # The second list's request waited while the first fetched the same symbols.
    second = live.watchlist_refresh_run(watchlist_id=second_list.pk)
    assert second.skipped == "fresh"
    assert second.upstream_requests == 0
    assert fake_yahoo.count("/v7/finance/quote") == 1


def test_a_refresh_still_fetches_a_symbol_nobody_fetched_yet(fake_yahoo, make_user, make_watchlist):
    first_list = make_watchlist(make_user("storm3"), "Storm", ["AAPL"])
    live.watchlist_refresh_run(watchlist_id=first_list.pk)
    second_list = make_watchlist(make_user("storm4"), "Storm", ["AAPL", "NVDA"])

    report = live.watchlist_refresh_run(watchlist_id=second_list.pk)
    assert report.skipped == ""
    assert "NVDA" in fake_yahoo.requested_symbols[-1]
