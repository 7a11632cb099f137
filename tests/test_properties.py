"""Bad input, tried systematically: property-based tests with Hypothesis.

Symbols, socket messages and Yahoo bodies are generated; whatever comes in,
the answer is a clear error or a correct result, never a crash, and nothing
stored is lost.
"""

import json
import re
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.redis_client import redis_key
from prices.models import Quote
from prices.services import quotes_refresh
from prices.symbols import SYMBOL_PATTERN, symbol_is_valid, symbol_normalize
from tests.watchlists.sockets import open_socket

SYMBOL_RE = re.compile(SYMBOL_PATTERN)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-^="
# Function-scoped fixtures (a logged-in user, the fake Yahoo) are shared by
# the examples of one test on purpose: each example leaves them as it found them.
SHARED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(st.text(max_size=40))
def test_normalising_any_text_gives_a_valid_symbol_or_a_clear_error(raw):
    try:
        symbol = symbol_normalize(raw)
    except ValidationError as error:
        assert error.code in {"symbol_required", "symbol_too_long", "symbol_invalid"}
        assert error.messages[0]
        return
    assert SYMBOL_RE.match(symbol)
    assert symbol_normalize(symbol) == symbol  # idempotent
    assert symbol == raw.strip().upper()


@given(st.text(alphabet=ALPHABET, min_size=1, max_size=20), st.sampled_from(["", " ", "\t", "  \n"]))
def test_every_symbol_of_yahoos_alphabet_survives_case_and_spaces(symbol, pad):
    typed = pad + symbol.lower() + pad
    assert symbol_normalize(typed) == symbol
    assert symbol_is_valid(symbol)


@given(st.text(min_size=21, max_size=60).filter(lambda t: len(t.strip()) > 20))
def test_anything_longer_than_twenty_characters_is_refused(raw):
    with pytest.raises(ValidationError):
        symbol_normalize(raw)


# Channels' test communicator cannot send an empty frame, hence min_size=1.
inbound = st.one_of(
    json_values.map(json.dumps),
    st.text(min_size=1, max_size=300),
    st.binary(min_size=1, max_size=100),
    st.builds(lambda extra: json.dumps({"type": "ping", **extra}), st.dictionaries(st.text(max_size=5), json_values)),
)


@pytest.mark.django_db(transaction=True)
@SHARED
@given(message=inbound)
def test_any_inbound_socket_message_gets_an_answer_and_the_socket_lives(message, watchlist, user, session_cookie):
    cookie = session_cookie(user)

    async def exchange():
        comm, _ = await open_socket(watchlist, cookie)
        if isinstance(message, bytes):
            await comm.send_to(bytes_data=message)
        else:
            await comm.send_to(text_data=message)
        reply = json.loads(await comm.receive_from(timeout=5))
        await comm.send_to(text_data='{"type":"ping"}')
        after = json.loads(await comm.receive_from(timeout=5))
        await comm.disconnect()
        return reply, after

    reply, after = async_to_sync(exchange)()
    parsed = None
    if isinstance(message, str):
        try:
            parsed = json.loads(message)
        except ValueError:
            parsed = None
    is_ping = isinstance(parsed, dict) and parsed.get("type") == "ping" and len(message.encode()) <= 1024
    if is_ping:
        assert reply == {"type": "pong"}
    else:
        assert reply["type"] == "error" and reply["code"] and reply["message"]
    assert after == {"type": "pong"}


yahoo_bodies = st.one_of(
    json_values.map(json.dumps),
    st.builds(
        lambda result: json.dumps({"quoteResponse": {"result": result, "error": None}}),
        st.lists(
            st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {"symbol": st.sampled_from(["AAPL", "MSFT", "aapl", "", "ZZZ"]) | st.text(max_size=6)},
                    optional={
                        "regularMarketPrice": json_values | st.floats(allow_nan=True, allow_infinity=True),
                        "regularMarketChange": json_values,
                        "regularMarketChangePercent": json_values,
                        "regularMarketTime": json_values | st.integers(),
                        "currency": json_values,
                        "marketState": json_values,
                        "priceHint": json_values,
                        "shortName": json_values,
                    },
                ),
            ),
            max_size=4,
        ),
    ),
    st.text(max_size=200),
)


@pytest.mark.django_db(transaction=True)
@SHARED
@given(body=yahoo_bodies)
def test_any_yahoo_body_is_handled_and_keeps_what_was_stored(body, fake_yahoo, redis_clean):
    Quote.objects.update_or_create(symbol="AAPL", defaults={"price": Decimal("244.6"), "market_state": "REGULAR"})
    # Each example starts with a healthy source and a full request budget.
    redis_clean.delete(*(redis_key(part, "yahoo") for part in ("source", "source-probe", "upstream-budget")))
    fake_yahoo.set_quote_response(200, body)
    result = quotes_refresh(symbols=["AAPL", "MSFT"])
    aapl = Quote.objects.get(symbol="AAPL")
    assert result.requests >= 1
    for quote in result.changed:
        assert quote.price is None or quote.price >= 0
    if not any(q.symbol == "AAPL" for q in result.changed):
        assert aapl.price == Decimal("244.6")  # a bad body never wipes the last good price
