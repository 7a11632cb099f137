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


@pytest.fixture(autouse=True)
def redis_clean(settings):
    """Each test starts with none of this run's keys in Redis (presence, locks, source health, layer)."""
    from config.redis_client import redis_sync

    client = redis_sync()

    def wipe():
        keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)

    wipe()
    yield client
    wipe()


@pytest.fixture
def fake_yahoo(settings):
    """A local Yahoo look-alike, with the real Yahoo provider (and yfinance) pointed at it."""
    import yfinance.data

    from tests.support.fake_yahoo import FakeYahoo

    yfinance.data.YfData._instances.clear()
    with FakeYahoo() as fake:
        settings.QUOTE_PROVIDER = "yahoo"
        settings.QUOTE_YAHOO_BASE_URL = fake.base_url
        yield fake
    yfinance.data.YfData._instances.clear()


@pytest.fixture
def session_cookie(db):
    """A function returning the Cookie header of a fresh logged-in session for a user."""
    from django.conf import settings as django_settings
    from django.test import Client

    def cookie_for(user) -> bytes:
        # A client per session: logging another user in on one client would end the first session.
        client = Client()
        client.force_login(user)
        name = django_settings.SESSION_COOKIE_NAME
        return f"{name}={client.cookies[name].value}".encode()

    return cookie_for


@pytest.fixture(autouse=True)
def metrics_pending_clear():
    """Socket counts a web process keeps in memory until its next flush never leak from one test into another."""
    from config.metrics import metrics_pending_discard

    metrics_pending_discard()
    yield
    metrics_pending_discard()
