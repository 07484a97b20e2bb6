"""Local payment methods: each valid request maps to a body that Checkout.com's OpenAPI schema
for its source type accepts; each broken constraint is a field-named 422 before any call."""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from paybridge.domain.markets import CaptureMode, Descriptor, Market, MarketBook
from paybridge.domain.payment_methods import KNOWN_METHODS
from paybridge.errors import ValidationFailed
from paybridge.mapping.checkout_payments import to_payment_request
from paybridge.mapping.field_map import FieldMap
from paybridge.mapping.orders import to_order_context
from paybridge.mapping.payment_plan import PaymentPlan, order_fields, plan_payment
from paybridge.schemas.payments import PAYMENT_METHOD_TYPES, PaymentCreate
from tests.api.payloads import CUSTOMER, ORDER
from tests.checkout_spec import SpecValidationError, validate_against_spec

CHANNEL = "pc_allmethodschannel000000000"
OPEN_MARKET = Market(
    key="everything",
    processing_channel_id=CHANNEL,
    payment_methods=KNOWN_METHODS,
    success_url="https://shop.example/success",
    failure_url="https://shop.example/failure",
    billing_descriptor=Descriptor("EXAMPLE SHOP", "Amsterdam"),
    metadata=(("business_unit", "benelux"),),
)
BOOK = MarketBook((OPEN_MARKET,), default="everything")

# method body, billing country, currency
CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    "ideal": ({"type": "ideal", "bic": "INGBNL2A", "language": "nl"}, "NL", "EUR"),
    "bancontact": (
        {"type": "bancontact", "account_holder_name": "Lena Peeters", "language": "fr"},
        "BE",
        "EUR",
    ),
    "eps": ({"type": "eps", "purpose": "Bestellung 00000100"}, "AT", "EUR"),
    "p24": ({"type": "p24", "account_holder_name": "Jan Kowalski"}, "PL", "PLN"),
    "multibanco": ({"type": "multibanco", "account_holder_name": "Joana Silva"}, "PT", "EUR"),
    "klarna": (
        {
            "type": "klarna",
            "first_name": "Astrid",
            "last_name": "Lindqvist",
            "phone": {"country_code": "+46", "number": "701234567"},
            "date_of_birth": "1990-05-17",
        },
        "SE",
        "SEK",
    ),
    "paypal": ({"type": "paypal"}, "US", "USD"),
    "sepa": (
        {
            "type": "sepa",
            "iban": "DE89 3704 0044 0532 0130 00",
            "bic": "COBADEFFXXX",
            "mandate_id": "MANDATE-00000100",
            "date_of_signature": "2026-11-20",
            "first_name": "Jonas",
            "last_name": "Becker",
        },
        "DE",
        "EUR",
    ),
}


def request_for(
    method: dict[str, Any], country: str | None, currency: str, **top: Any
) -> dict[str, Any]:
    order = copy.deepcopy(ORDER)
    order.update(TotalAmount=Decimal("149.90"), CurrencyIsoCode=currency)
    order["BillingCountryCode"] = country
    return {"order": order, "customer": copy.deepcopy(CUSTOMER), "payment_method": method, **top}


def plan(body: dict[str, Any], book: MarketBook = BOOK) -> PaymentPlan:
    request = PaymentCreate.model_validate(body)
    ctx = to_order_context(request.order, request.customer, FieldMap())
    return plan_payment(
        request, ctx, book, fields=order_fields(request.order, request.customer, FieldMap())
    )


def wire(body: dict[str, Any]) -> dict[str, Any]:
    request = PaymentCreate.model_validate(body)
    ctx = to_order_context(request.order, request.customer, FieldMap())
    options = plan(body).options("7f1d2c4e-0000-4000-8000-000000000001")
    return to_payment_request(ctx, request.payment_method, options).to_wire()


def refusal(body: dict[str, Any], book: MarketBook = BOOK) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        plan(body, book)
    return [(d.field, d.code) for d in caught.value.details]


def test_every_method_has_a_case_and_a_schema_variant() -> None:
    schema = PaymentCreate.model_json_schema()
    tags = schema["properties"]["payment_method"]["discriminator"]["mapping"]

    assert set(CASES) | {"token", "instrument"} == KNOWN_METHODS == PAYMENT_METHOD_TYPES
    assert set(tags) == PAYMENT_METHOD_TYPES


@pytest.mark.parametrize("name", sorted(CASES))
def test_valid_request_maps_to_a_body_the_spec_accepts(name: str) -> None:
    method, country, currency = CASES[name]

    body = wire(request_for(method, country, currency))

    validate_against_spec(body, "PaymentRequest")
    assert body["source"]["type"] == name
    assert body["currency"] == currency
    assert body["processing_channel_id"] == CHANNEL
    assert body["metadata"]["market"] == "everything"
    assert body["metadata"]["business_unit"] == "benelux"
    assert "3ds" not in body  # 3DS is for cards
    assert "billing_descriptor" not in body  # the card descriptor object


def test_source_fields_use_the_spec_names() -> None:
    ideal = wire(request_for(*CASES["ideal"]))["source"]
    bancontact = wire(request_for(*CASES["bancontact"]))["source"]
    p24 = wire(request_for(*CASES["p24"]))["source"]
    klarna = wire(request_for(*CASES["klarna"]))["source"]
    sepa = wire(request_for(*CASES["sepa"]))

    assert ideal == {
        "type": "ideal",
        "bic": "INGBNL2A",
        "description": "Order 00000100",
        "language": "nl",
    }
    assert bancontact == {
        "type": "bancontact",
        "payment_country": "BE",
        "account_holder_name": "Lena Peeters",
        "billing_descriptor": "EXAMPLE SHOP",
        "language": "fr",
    }
    assert p24["account_holder_email"] == "ana@example.com"  # the customer's, by default
    assert klarna["account_holder"]["billing_address"] == {
        "address_line1": "Keizersgracht 1",
        "address_line2": "Second floor",
        "city": "Amsterdam",
        "zip": "1015 CJ",
        "country": "SE",
    }
    assert klarna["account_holder"]["phone"] == {"country_code": "+46", "number": "701234567"}
    assert sepa["source"]["account_number"] == "DE89370400440532013000"
    assert sepa["source"]["country"] == "DE"
    assert sepa["source"]["bank_code"] == "COBADEFFXXX"
    assert sepa["source"]["date_of_signature"] == "2026-11-20"
    assert sepa["capture"] is True


def test_the_spec_check_is_real_for_local_sources() -> None:
    body = wire(request_for(*CASES["ideal"]))
    del body["source"]["bic"]

    with pytest.raises(SpecValidationError, match="'bic' is a required property"):
        validate_against_spec(body, "PaymentRequest")


def test_sepa_single_line_street_still_fills_the_required_second_line() -> None:
    body = request_for(*CASES["sepa"])
    body["order"]["BillingStreet"] = "Hauptstrasse 5"

    sent = wire(body)

    validate_against_spec(sent, "PaymentRequest")
    assert sent["source"]["account_holder"]["billing_address"]["address_line2"] == ""


def test_bank_methods_are_captured_even_in_a_manual_capture_market() -> None:
    manual = MarketBook((replace(OPEN_MARKET, capture=CaptureMode.MANUAL),), default="everything")
    ideal = request_for(*CASES["ideal"])
    klarna = request_for(*CASES["klarna"])

    assert plan(ideal, manual).capture is True
    assert plan(klarna, manual).capture is False
    assert refusal(request_for(*CASES["ideal"], capture=False)) == [("capture", "capture_required")]


@pytest.mark.parametrize(
    ("name", "country", "currency", "expected"),
    [
        ("ideal", "BE", "EUR", [("order.BillingCountryCode", "unsupported_country")]),
        ("ideal", "NL", "USD", [("order.CurrencyIsoCode", "unsupported_currency")]),
        ("bancontact", "NL", "EUR", [("order.BillingCountryCode", "unsupported_country")]),
        ("eps", "DE", "EUR", [("order.BillingCountryCode", "unsupported_country")]),
        ("p24", "PL", "USD", [("order.CurrencyIsoCode", "unsupported_currency")]),
        ("multibanco", "ES", "EUR", [("order.BillingCountryCode", "unsupported_country")]),
        ("klarna", "SE", "EUR", [("order.CurrencyIsoCode", "unsupported_currency")]),
        ("paypal", "IN", "INR", [("order.CurrencyIsoCode", "unsupported_currency")]),
        ("sepa", "US", "EUR", [("order.BillingCountryCode", "unsupported_country")]),
        ("ideal", None, "EUR", [("order.BillingCountryCode", "missing")]),
    ],
)
def test_country_and_currency_constraints_are_field_named(
    name: str, country: str | None, currency: str, expected: list[tuple[str, str]]
) -> None:
    method = CASES[name][0]

    assert refusal(request_for(method, country, currency)) == expected


def test_country_field_is_the_one_the_order_used() -> None:
    body = request_for(*CASES["ideal"])
    del body["order"]["BillingCountryCode"]
    body["order"]["BillingCountry"] = "BE"

    assert refusal(body) == [("order.BillingCountry", "unsupported_country")]


@pytest.mark.parametrize("name", ["ideal", "bancontact", "eps", "p24", "multibanco", "klarna"])
def test_redirect_methods_need_urls_from_request_or_market(name: str) -> None:
    no_urls = MarketBook(
        (Market(key="bare", processing_channel_id=CHANNEL, payment_methods=KNOWN_METHODS),),
        default="bare",
    )
    method, country, currency = CASES[name]

    assert refusal(request_for(method, country, currency), no_urls) == [
        ("success_url", "missing"),
        ("failure_url", "missing"),
    ]
    chosen = plan(
        request_for(
            method,
            country,
            currency,
            success_url="https://shop.example/ok",
            failure_url="https://shop.example/ko",
        ),
        no_urls,
    )
    assert (chosen.success_url, chosen.failure_url) == (
        "https://shop.example/ok",
        "https://shop.example/ko",
    )


def test_p24_needs_an_email_somewhere() -> None:
    body = request_for(*CASES["p24"])
    body["customer"] = None

    assert refusal(body) == [("payment_method.account_holder_email", "missing")]


def test_klarna_needs_the_billing_address() -> None:
    body = request_for(*CASES["klarna"])
    for field in ("BillingCity", "BillingPostalCode", "BillingStreet"):
        del body["order"][field]

    assert refusal(body) == [
        ("order.BillingCity", "missing"),
        ("order.BillingPostalCode", "missing"),
    ]


def test_three_ds_is_refused_for_local_methods() -> None:
    assert refusal(request_for(*CASES["paypal"], three_ds=True)) == [
        ("three_ds", "three_ds_not_applicable")
    ]


@pytest.mark.parametrize(
    ("name", "change", "field"),
    [
        ("ideal", {"bic": "ing"}, "bic"),
        ("ideal", {"description": "x" * 36}, "description"),
        ("bancontact", {"account_holder_name": "Al"}, "account_holder_name"),
        ("bancontact", {"language": "es"}, "language"),
        ("eps", {"purpose": "x" * 28}, "purpose"),
        ("p24", {"account_holder_email": "not-an-email"}, "account_holder_email"),
        ("klarna", {"phone": {"country_code": "+46"}}, "phone.number"),
        ("sepa", {"iban": "DE89370400440532013001"}, "iban"),
        ("sepa", {"iban": "US64SVBKUS6S3300958879"}, "iban"),
        ("sepa", {"date_of_signature": "yesterday"}, "date_of_signature"),
        ("paypal", {"plan": "monthly"}, "plan"),
    ],
)
def test_method_fields_are_checked_by_the_schema(
    name: str, change: dict[str, Any], field: str
) -> None:
    method = {**CASES[name][0], **change}

    with pytest.raises(ValidationError) as caught:
        PaymentCreate.model_validate(request_for(method, "NL", "EUR"))

    locations = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    assert locations == [f"payment_method.{name}.{field}"]
