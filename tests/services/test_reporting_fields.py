"""The market's reporting fields, as stored on the payment, reach its Salesforce records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import RowMapping

from paybridge.mapping.salesforce_fields import load_salesforce_mapping
from paybridge.services.salesforce_state import records_of, reporting_fields


def payment_row(metadata: object) -> RowMapping:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    row: dict[str, Any] = {
        "id": "6f1c0c1e-0000-4000-8000-000000000001",
        "checkout_payment_id": "pay_reporting",
        "currency": "EUR",
        "amount_minor": 1000,
        "status": "Authorized",
        "created_at": now,
        "version": 2,
        "order_id": None,
        "account_id": None,
        "reference": "ORD-1",
        "authorized_minor": 1000,
        "captured_minor": 0,
        "refunded_minor": 0,
        "payment_method": "card",
        "card_last4": None,
        "response_code": "10000",
        "response_summary": "Approved",
        "market": "nl-web",
        "metadata": metadata,
        "disputed": False,
        "last_event_at": None,
    }
    return cast(RowMapping, row)


def test_the_stored_market_metadata_is_written_on_the_payment_record() -> None:
    custom = load_salesforce_mapping().profile("custom")
    stored = {"business_unit": "benelux", "settlement_entity": "example-bv", "other": "x"}

    (payment,) = records_of(custom, payment_row(stored), [], [])

    assert payment.fields["Business_Unit__c"] == "benelux"
    assert payment.fields["Settlement_Entity__c"] == "example-bv"
    assert "x" not in payment.fields.values()  # only the keys the mapping names


def test_reporting_fields_are_text_whatever_the_event_carried() -> None:
    assert reporting_fields({"b2b": True, "cost_centre": 4711, "nested": {"a": 1}}) == {
        "b2b": "true",
        "cost_centre": "4711",
    }
    assert reporting_fields(None) == {}
