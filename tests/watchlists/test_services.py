import pytest
from django.core.exceptions import ValidationError

from watchlists import services
from watchlists.models import Watchlist, WatchlistItem
from watchlists.selectors import watchlist_symbols

pytestmark = pytest.mark.django_db


def symbols_of(watchlist):
    return watchlist_symbols(watchlist_id=watchlist.pk)


def test_create_cleans_the_name(user):
    watchlist = services.watchlist_create(owner=user, name="  My   tech  ")
    assert watchlist.name == "My tech"


def test_create_refuses_a_duplicate_name_with_a_message(user, make_watchlist):
    make_watchlist(user, "Tech")
    with pytest.raises(ValidationError) as excinfo:
        services.watchlist_create(owner=user, name="tech")
    assert "already have a watchlist called" in str(excinfo.value.message_dict["name"])


def test_create_refuses_a_blank_name(user):
    with pytest.raises(ValidationError) as excinfo:
        services.watchlist_create(owner=user, name="   ")
    assert excinfo.value.message_dict["name"] == ["Give the watchlist a name."]


def test_list_limit_per_user(user, other_user, settings):
    settings.WATCHLIST_MAX_PER_USER = 2
    services.watchlist_create(owner=user, name="One")
    services.watchlist_create(owner=user, name="Two")
    with pytest.raises(ValidationError) as excinfo:
        services.watchlist_create(owner=user, name="Three")
    assert "limit of 2 watchlists" in excinfo.value.messages[0]
    assert Watchlist.objects.filter(owner=user).count() == 2
    # The limit is per user.
    services.watchlist_create(owner=other_user, name="Three")


def test_add_normalises_and_appends(watchlist):
    item = services.watchlist_symbol_add(watchlist=watchlist, symbol=" brk-b ")
    assert item.symbol == "BRK-B"
    assert symbols_of(watchlist) == ["AAPL", "MSFT", "BRK-B"]


def test_add_refuses_duplicates_clearly(watchlist):
    with pytest.raises(ValidationError) as excinfo:
        services.watchlist_symbol_add(watchlist=watchlist, symbol="aapl")
    assert excinfo.value.message_dict["symbol"] == ["AAPL is already on this watchlist."]
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]


def test_add_refuses_bad_symbols_and_writes_nothing(watchlist):
    with pytest.raises(ValidationError):
        services.watchlist_symbol_add(watchlist=watchlist, symbol="AA PL")
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]


def test_symbol_limit_per_list(watchlist, settings):
    settings.WATCHLIST_MAX_SYMBOLS = 3
    services.watchlist_symbol_add(watchlist=watchlist, symbol="NVDA")
    with pytest.raises(ValidationError) as excinfo:
        services.watchlist_symbol_add(watchlist=watchlist, symbol="TSLA")
    assert "already has 3 symbols" in excinfo.value.message_dict["symbol"][0]
    assert len(symbols_of(watchlist)) == 3


def test_create_with_symbols_is_all_or_nothing(user):
    with pytest.raises(ValidationError):
        services.watchlist_create(owner=user, name="Mixed", symbols=["AAPL", "BAD SYMBOL"])
    assert not Watchlist.objects.filter(owner=user).exists()
    assert not WatchlistItem.objects.exists()


def test_remove(watchlist):
    item = watchlist.items.get(symbol="AAPL")
    assert services.watchlist_symbol_remove(watchlist=watchlist, item_id=item.pk) == "AAPL"
    assert symbols_of(watchlist) == ["MSFT"]


def test_remove_refuses_an_item_of_another_list(watchlist, other_user, make_watchlist):
    foreign = make_watchlist(other_user, "Theirs", ["TSLA"])
    foreign_item = foreign.items.get()
    with pytest.raises(WatchlistItem.DoesNotExist):
        services.watchlist_symbol_remove(watchlist=watchlist, item_id=foreign_item.pk)
    assert symbols_of(foreign) == ["TSLA"]


def test_reorder(watchlist):
    services.watchlist_symbol_add(watchlist=watchlist, symbol="NVDA")
    services.watchlist_symbols_reorder(watchlist=watchlist, symbols=["NVDA", "aapl", "MSFT"])
    assert symbols_of(watchlist) == ["NVDA", "AAPL", "MSFT"]


@pytest.mark.parametrize("order", [["AAPL"], ["AAPL", "MSFT", "NVDA"], ["AAPL", "AAPL"], ["AAPL", "TSLA"]])
def test_reorder_must_name_every_symbol_once(watchlist, order):
    with pytest.raises(ValidationError):
        services.watchlist_symbols_reorder(watchlist=watchlist, symbols=order)
    assert symbols_of(watchlist) == ["AAPL", "MSFT"]


def test_move_up_and_down_and_past_the_ends(watchlist):
    services.watchlist_symbol_add(watchlist=watchlist, symbol="NVDA")
    nvda = watchlist.items.get(symbol="NVDA")
    services.watchlist_symbol_move(watchlist=watchlist, item_id=nvda.pk, offset=-1)
    assert symbols_of(watchlist) == ["AAPL", "NVDA", "MSFT"]
    services.watchlist_symbol_move(watchlist=watchlist, item_id=nvda.pk, offset=-1)
    services.watchlist_symbol_move(watchlist=watchlist, item_id=nvda.pk, offset=-1)
    assert symbols_of(watchlist) == ["NVDA", "AAPL", "MSFT"]
    aapl = watchlist.items.get(symbol="MSFT")
    services.watchlist_symbol_move(watchlist=watchlist, item_id=aapl.pk, offset=1)
    assert symbols_of(watchlist) == ["NVDA", "AAPL", "MSFT"]


def test_rename(watchlist, make_watchlist, user):
    make_watchlist(user, "Other")
    services.watchlist_rename(watchlist=watchlist, name="Semis")
    watchlist.refresh_from_db()
    assert watchlist.name == "Semis"
    with pytest.raises(ValidationError):
        services.watchlist_rename(watchlist=watchlist, name="OTHER")
    watchlist.refresh_from_db()
    assert watchlist.name == "Semis"
    # Renaming to its own name in another case is allowed.
    services.watchlist_rename(watchlist=watchlist, name="SEMIS")


def test_set_enabled(watchlist):
    assert services.watchlists_set_enabled(watchlist_ids=[watchlist.pk], enabled=False) == 1
    watchlist.refresh_from_db()
    assert watchlist.enabled is False
