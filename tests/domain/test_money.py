"""Currency exponents and exact conversion: nothing is ever rounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paybridge.domain.money import MoneyError, format_major, parse_decimal, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("149.90", "EUR", 14990),
        ("0.01", "USD", 1),
        ("1500", "JPY", 1500),
        ("1500", "KRW", 1500),
        ("99", "ISK", 99),  # Checkout.com counts ISK in whole units although ISO says 2
        ("1.250", "BHD", 1250),
        ("100", "KWD", 100000),
        ("12.34", "GBP", 1234),
        ("999999.99", "EUR", 99999999),
    ],
)
def test_to_minor(amount: str, currency: str, minor: int) -> None:
    assert to_minor(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        ("149.901", "EUR", "invalid_amount_precision"),
        ("10.5", "JPY", "invalid_amount_precision"),
        ("1.001", "BHD", "invalid_amount_precision"),  # last digit must be 0
        ("1.0005", "KWD", "invalid_amount_precision"),
        ("0", "EUR", "invalid_amount"),
        ("-5", "EUR", "invalid_amount"),
        ("10000000.00", "EUR", "amount_too_large"),
        ("Infinity", "EUR", "invalid_amount"),
        ("NaN", "EUR", "invalid_amount"),
        ("10", "EUX", "invalid_currency"),
    ],
)
def test_to_minor_refuses(amount: str, currency: str, code: str) -> None:
    with pytest.raises(MoneyError) as caught:
        to_minor(Decimal(amount), currency)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(14990, "EUR", "149.90"), (1500, "JPY", "1500"), (1250, "BHD", "1.250"), (0, "USD", "0.00")],
)
def test_format_major(minor: int, currency: str, text: str) -> None:
    assert format_major(minor, currency) == text


def test_parse_decimal_never_uses_float() -> None:
    assert parse_decimal("0.1") + parse_decimal("0.2") == Decimal("0.3")
    assert parse_decimal(Decimal("149.90")) == Decimal("149.90")
    assert parse_decimal(50) == Decimal(50)
    for bad in (True, 1.5, None, "abc"):
        with pytest.raises(MoneyError):
            parse_decimal(bad)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1E+5000"),
        Decimal("1E+999990"),
        "1E+999990",
        Decimal("1E-999990"),
        "9" * 61,
        Decimal("1" * 40),
        Decimal("Infinity"),
        Decimal("NaN"),
        "sNaN",
    ],
)
def test_amounts_out_of_bounds_are_refused_before_any_scaling(value: object) -> None:
    with pytest.raises(MoneyError) as refused:
        to_minor(parse_decimal(value), "EUR")
    assert refused.value.code == "invalid_amount"


def test_a_large_but_bounded_exponent_is_too_large_not_a_crash() -> None:
    with pytest.raises(MoneyError) as refused:
        to_minor(Decimal("1E+20"), "EUR")
    assert refused.value.code == "amount_too_large"
