"""Salesforce Order/Contact → order context: every failing field named, nothing rounded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from paybridge.errors import ValidationFailed
from paybridge.mapping.field_map import FieldMap, FieldMapError, OrderFieldMap, load_field_map
from paybridge.mapping.orders import to_order_context
from tests.api.payloads import CUSTOMER, ORDER

FMAP = FieldMap()


def order(**changes: Any) -> dict[str, Any]:
    return {**ORDER, "TotalAmount": Decimal("149.90"), **changes}


def failures(
    order_record: dict[str, Any], customer: dict[str, Any] | None = None
) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        to_order_context(order_record, customer, FMAP)
    return {d.field: d.code for d in caught.value.details}


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("149.90", "EUR", 14990), ("1500", "JPY", 1500), ("12.340", "KWD", 12340)],
)
def test_amounts_by_currency_exponent(amount: str, currency: str, minor: int) -> None:
    ctx = to_order_context(order(TotalAmount=Decimal(amount), CurrencyIsoCode=currency), None, FMAP)
    assert ctx.amount_minor == minor
    assert ctx.currency == currency


def test_full_context() -> None:
    ctx = to_order_context(order(), dict(CUSTOMER), FMAP)
    assert ctx.order_id == "8015g00000AbCdEAAV"
    assert ctx.order_number == "00000100"
    assert ctx.account_id == "0015g00000XyZaBAAV"
    assert ctx.contact_id == "0035g00000QwErTAAV"
    assert ctx.email == "ana@example.com"
    assert ctx.name == "Ana de Vries"
    assert ctx.billing is not None
    assert ctx.billing.address_line1 == "Keizersgracht 1"
    assert ctx.billing.address_line2 == "Second floor"
    assert ctx.billing.country == "NL"


def test_rounding_is_refused() -> None:
    assert failures(order(TotalAmount=Decimal("149.999"))) == {
        "order.TotalAmount": "invalid_amount_precision"
    }
    assert failures(order(TotalAmount=Decimal("10.5"), CurrencyIsoCode="JPY")) == {
        "order.TotalAmount": "invalid_amount_precision"
    }


def test_every_failing_field_is_reported_at_once() -> None:
    result = failures(
        order(
            Id="not-an-id",
            OrderNumber="x" * 51,
            CurrencyIsoCode="EUX",
            BillingCountryCode="Netherlands",
            BillingCity="c" * 51,
        ),
        {"Email": "not-an-email"},
    )
    assert result == {
        "order.Id": "invalid_salesforce_id",
        "order.OrderNumber": "too_long",
        "order.CurrencyIsoCode": "invalid_currency",
        "order.BillingCountryCode": "invalid_country",
        "order.BillingCity": "too_long",
        "customer.Email": "invalid_email",
    }


def test_missing_required_fields() -> None:
    bare = {"attributes": {"type": "Order"}}
    assert failures(bare) == {
        "order.Id": "missing",
        "order.OrderNumber": "missing",
        "order.CurrencyIsoCode": "missing",
        "order.TotalAmount": "missing",
    }


def test_missing_billing_fields_are_fine() -> None:
    minimal = {
        "Id": "8015g00000AbCdE",
        "OrderNumber": "00000101",
        "TotalAmount": Decimal(10),
        "CurrencyIsoCode": "usd",
    }
    ctx = to_order_context(minimal, None, FMAP)
    assert ctx.billing is None
    assert ctx.currency == "USD"
    assert ctx.email is None


def test_billing_country_falls_back_and_state_names_are_left_out() -> None:
    ctx = to_order_context(
        order(BillingCountryCode=None, BillingCountry="US", BillingState="California"), None, FMAP
    )
    assert ctx.billing is not None
    assert ctx.billing.country == "US"
    assert ctx.billing.state is None
    ctx = to_order_context(order(BillingStateCode="CA", BillingCountryCode="US"), None, FMAP)
    assert ctx.billing is not None
    assert ctx.billing.state == "CA"


def test_person_account_email() -> None:
    ctx = to_order_context(order(), {"PersonEmail": "p@example.com", "Name": "Pat Doe"}, FMAP)
    assert ctx.email == "p@example.com"
    assert ctx.name == "Pat Doe"


def test_custom_field_map(tmp_path: Any) -> None:
    path = tmp_path / "fields.yaml"
    path.write_text(
        "order:\n"
        "  order_number: [Storefront_Number__c, OrderNumber]\n"
        "  total_amount: [Grand_Total__c]\n"
    )
    fmap = load_field_map(path)
    ctx = to_order_context(
        order(Storefront_Number__c="WEB-77", Grand_Total__c=Decimal("5.00")), None, fmap
    )
    assert ctx.order_number == "WEB-77"
    assert ctx.amount_minor == 500
    assert fmap.order.currency == OrderFieldMap().currency


def test_invalid_field_map_names_the_file(tmp_path: Any) -> None:
    path = tmp_path / "fields.yaml"
    path.write_text("order:\n  total: [X]\n")
    with pytest.raises(FieldMapError, match=r"fields.yaml: invalid field map: order.total"):
        load_field_map(path)
