import pytest
from django.contrib.auth import get_user_model

from watchlists import services


@pytest.fixture
def make_user(db):
    def make(username: str = "alice", password: str = "correct-horse-battery", **extra):
        return get_user_model().objects.create_user(username=username, password=password, **extra)

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def other_user(make_user):
    return make_user("mallory")


@pytest.fixture
def make_watchlist(db):
    def make(owner, name: str = "Tech", symbols=()):
        return services.watchlist_create(owner=owner, name=name, symbols=list(symbols))

    return make


@pytest.fixture
def watchlist(user, make_watchlist):
    return make_watchlist(user, "Tech", ["AAPL", "MSFT"])


@pytest.fixture
def owner_client(client, user):
    client.force_login(user)
    return client
