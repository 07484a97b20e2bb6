"""Where each payment method may be used: countries, currencies, URLs, needed order data."""

from __future__ import annotations

import pytest

from paybridge.domain.iban import is_valid_iban
from paybridge.domain.payment_methods import (
    KNOWN_METHODS,
    METHOD_RULES,
    Need,
    Violation,
    capture_violation,
    captures_at_once,
    method_violations,
)

URLS = {"success_url": "https://shop.example/s", "failure_url": "https://shop.example/f"}
EVERYTHING = frozenset(Need)


def violations(
    name: str, currency: str, country: str | None, **overrides: object
) -> list[Violation]:
    kwargs: dict[str, object] = {**URLS, "available": EVERYTHING, **overrides}
    return method_violations(name, currency=currency, country=country, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "currency", "country"),
    [
        ("ideal", "EUR", "NL"),
        ("bancontact", "EUR", "BE"),
        ("eps", "EUR", "AT"),
        ("p24", "PLN", "PL"),
        ("p24", "EUR", "PL"),
        ("multibanco", "EUR", "PT"),
        ("klarna", "SEK", "SE"),
        ("klarna", "EUR", "DE"),
        ("paypal", "USD", "US"),
        ("paypal", "EUR", None),
        ("sepa", "EUR", "FR"),
        ("token", "JPY", None),
        ("instrument", "BHD", "BH"),
    ],
)
def test_home_market_is_accepted(name: str, currency: str, country: str | None) -> None:
    assert violations(name, currency, country) == []


@pytest.mark.parametrize(
    ("name", "currency", "country", "subject", "code"),
    [
        ("ideal", "EUR", "BE", "country", "unsupported_country"),
        ("ideal", "USD", "NL", "currency", "unsupported_currency"),
        ("ideal", "EUR", None, "country", "missing"),
        ("bancontact", "EUR", "NL", "country", "unsupported_country"),
        ("eps", "CHF", "AT", "currency", "unsupported_currency"),
        ("p24", "USD", "PL", "currency", "unsupported_currency"),
        ("multibanco", "EUR", "ES", "country", "unsupported_country"),
        ("klarna", "EUR", "SE", "currency", "unsupported_currency"),
        ("klarna", "USD", "BR", "country", "unsupported_country"),
        ("paypal", "XOF", "SN", "currency", "unsupported_currency"),
        ("sepa", "GBP", "GB", "currency", "unsupported_currency"),
        ("sepa", "EUR", "US", "country", "unsupported_country"),
    ],
)
def test_outside_the_home_market_is_refused(
    name: str, currency: str, country: str | None, subject: str, code: str
) -> None:
    [problem] = violations(name, currency, country)

    assert (problem.subject, problem.code) == (subject, code)


def test_messages_say_what_is_accepted() -> None:
    [problem] = violations("ideal", "EUR", "BE")

    assert problem.message == "iDEAL is not available in BE (only NL)"


@pytest.mark.parametrize("name", ["ideal", "bancontact", "eps", "p24", "multibanco", "klarna"])
def test_redirect_methods_need_both_urls(name: str) -> None:
    rule = METHOD_RULES[name]
    country = next(iter(rule.currencies_by_country or {"NL": frozenset()}))
    currency = next(iter((rule.currencies_by_country or {})[country]))

    problems = violations(name, currency, country, success_url=None, failure_url="")

    assert [(p.subject, p.code) for p in problems] == [
        ("success_url", "missing"),
        ("failure_url", "missing"),
    ]


@pytest.mark.parametrize("name", ["sepa", "token", "instrument"])
def test_non_redirect_methods_need_no_urls(name: str) -> None:
    assert violations(name, "EUR", "DE", success_url=None, failure_url=None) == []


def test_needed_order_data_is_named() -> None:
    problems = violations("klarna", "EUR", "NL", available=frozenset({Need.BILLING_COUNTRY}))

    assert [p.subject for p in problems] == ["billing_city", "billing_zip", "email"]
    assert problems[-1].message == "Klarna needs the customer's email"


def test_bank_methods_are_captured_at_once() -> None:
    assert captures_at_once("ideal")
    assert not captures_at_once("klarna")
    assert capture_violation("ideal", capture=True) is None
    assert capture_violation("klarna", capture=False) is None
    refused = capture_violation("sepa", capture=False)
    assert refused is not None
    assert (refused.subject, refused.code) == ("capture", "capture_required")


def test_the_method_list_is_the_rule_table() -> None:
    assert {
        "token",
        "instrument",
        "ideal",
        "bancontact",
        "eps",
        "p24",
        "multibanco",
        "klarna",
        "paypal",
        "sepa",
    } == KNOWN_METHODS


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("NL91ABNA0417164300", True),
        ("DE89370400440532013000", True),
        ("FR7630006000011234567890189", True),
        ("NL91ABNA0417164301", False),  # check digits
        ("nl91abna0417164300", False),  # not normalised
        ("NL91 ABNA 0417 1643 00", False),
        ("NL91ABNA", False),
        ("1234567890123456", False),
    ],
)
def test_iban_check(iban: str, valid: bool) -> None:
    assert is_valid_iban(iban) is valid
