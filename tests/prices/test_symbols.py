import pytest
from django.core.exceptions import ValidationError

from prices.symbols import symbol_is_valid, symbol_normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AAPL", "AAPL"),
        ("  aapl ", "AAPL"),
        ("brk-b", "BRK-B"),
        ("7203.t", "7203.T"),
        ("^gspc", "^GSPC"),
        ("eurusd=x", "EURUSD=X"),
        ("BTC-USD", "BTC-USD"),
        ("A" * 20, "A" * 20),
        ("\tmsft\n", "MSFT"),
    ],
)
def test_good_symbols_are_normalised(raw, expected):
    assert symbol_normalize(raw) == expected
    assert symbol_is_valid(expected)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "symbol_required"),
        ("   ", "symbol_required"),
        (None, "symbol_required"),
        (42, "symbol_required"),
        ("A" * 21, "symbol_too_long"),
        ("AA PL", "symbol_invalid"),
        ("AAPL;DROP", "symbol_invalid"),
        ("<script>", "symbol_invalid"),
        ("ÄPFEL", "symbol_invalid"),
        ("AAPL/", "symbol_invalid"),
        ("$AAPL", "symbol_invalid"),
        ("AAPL\x00", "symbol_invalid"),
    ],
)
def test_bad_symbols_get_a_clear_error(raw, code):
    with pytest.raises(ValidationError) as excinfo:
        symbol_normalize(raw)
    assert excinfo.value.code == code
    message = excinfo.value.messages[0]
    assert "symbol" in message.lower()


def test_error_message_explains_the_alphabet():
    with pytest.raises(ValidationError) as excinfo:
        symbol_normalize("AA PL")
    assert "letters, digits" in excinfo.value.messages[0]
    assert "AA PL" in excinfo.value.messages[0]


@pytest.mark.parametrize("value", ["aapl", " AAPL", "AA PL", "", "A" * 21])
def test_is_valid_rejects_unnormalised(value):
    assert not symbol_is_valid(value)
