"""The PAN guard: 13–19 digits passing Luhn, wherever they hide."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paybridge.domain.cards import find_card_numbers, looks_like_card_number, passes_luhn


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "card: 5555555555554444 exp 12/30",
        "378282246310005",  # Amex, 15 digits
        "6011111111111117",
        "4000056655665556",
        "4111111111111111110",  # 19 digits
    ],
)
def test_card_numbers_are_found(text: str) -> None:
    assert looks_like_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424241",  # fails Luhn
        "00000100",  # an OrderNumber
        "8015g00000AbCdEAAV",
        "+31 20 123 4567",
        "1234567890",
        "tok_4gzeau5o2uqubbk6fufs3m7p54",
        "42424242424242424242",  # 20 digits: not a PAN length
    ],
)
def test_other_strings_pass(text: str) -> None:
    assert not looks_like_card_number(text)


def test_luhn() -> None:
    assert passes_luhn("79927398713")
    assert not passes_luhn("79927398710")


def test_paths_inside_nested_values() -> None:
    body = {
        "order": {"Id": "8015g00000AbCdEAAV", "Notes__c": "pay with 4242 4242 4242 4242"},
        "customer": {"Phones": ["+31 20 123 4567", 5555555555554444]},
        "amount": Decimal("4242424242424242"),
        "4242424242424242": "key itself",
    }
    assert sorted(find_card_numbers(body)) == [
        "4242424242424242",
        "amount",
        "customer.Phones[1]",
        "order.Notes__c",
    ]


@pytest.mark.parametrize("iban", ["BE69539007547016", "BE69 5390 0754 7016", "NL91ABNA0417164300"])
def test_valid_ibans_are_not_card_numbers(iban: str) -> None:
    assert not looks_like_card_number(iban)
    assert list(find_card_numbers({"payment_method": {"iban": iban}})) == []


def test_a_card_number_next_to_an_iban_is_still_found() -> None:
    assert looks_like_card_number("iban BE69539007547016 card 4242424242424242")
    # An IBAN-shaped string with a wrong checksum is not exempt.
    assert looks_like_card_number("BE00 4242 4242 4242 4242")


@pytest.mark.parametrize(
    "text",
    [
        "Keizersgracht 1 4242 4242 4242 4242",  # the house number joins the digit run
        "Keizersgracht 12-4242-4242-4242-4242",
        "4242 4242 4242 4242 7",  # a trailing digit group after the card
        "Order 00000100 4242 4242 4242 4242 paid",
        "+31 4242 4242 4242 4242",  # too long for a phone number: checked as digits
    ],
)
def test_a_card_number_inside_a_longer_run_of_digit_groups_is_found(text: str) -> None:
    assert looks_like_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "NL91 ABNA 0417 1643 00",  # a valid IBAN (ISO 13616 example)
        "DE89 3704 0044 0532 0130 00",  # a valid IBAN (ISO 13616 example)
        "+31 20 555 0134 5",  # E.164 with its country code, 12 digits
        "+44 20 7946 0958",
        "+1 212 555 0199",
        "+49 1512 3456 787",  # 13 digits after "+" that pass Luhn: a phone, not a card
        "00000100 00000101",  # two OrderNumbers
        "Keizersgracht 1 1015 CJ",
    ],
)
def test_ibans_phone_numbers_and_order_numbers_pass(text: str) -> None:
    assert not looks_like_card_number(text)
