"""The Salesforce records of a payment, computed from its state for both profiles."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from paybridge.adapters.salesforce.models import encode_json
from paybridge.domain.order_payments import OrderTotals
from paybridge.domain.settlement import Settlement, settlement_totals
from paybridge.mapping.salesforce_fields import (
    FieldMapping,
    ProfileMapping,
    load_salesforce_mapping,
)
from paybridge.mapping.salesforce_records import (
    ActionSnapshot,
    CaseAssignment,
    DisputeSnapshot,
    LinkSnapshot,
    LogSnapshot,
    PaymentSnapshot,
    SalesforceRecord,
    dispute_records,
    link_records,
    log_records,
    payment_records,
)

CREATED = datetime(2026, 3, 1, 9, 15, tzinfo=UTC)
ORDER_ID = "8015g00000AbCdEAAV"
ACCOUNT_ID = "0015g00000XyZaBAAV"


@pytest.fixture(scope="module")
def custom() -> ProfileMapping:
    return load_salesforce_mapping().profiles["custom"]


@pytest.fixture(scope="module")
def commerce() -> ProfileMapping:
    return load_salesforce_mapping().profiles["commerce"]


def _payment(**changes: object) -> PaymentSnapshot:
    values: dict[str, object] = {
        "id": "6f1c0c1e-0000-4000-8000-000000000001",
        "checkout_payment_id": "pay_abc",
        "order_id": ORDER_ID,
        "account_id": ACCOUNT_ID,
        "reference": "00000100",
        "currency": "EUR",
        "amount_minor": 14990,
        "authorized_minor": 14990,
        "captured_minor": 10000,
        "refunded_minor": 2500,
        "status": "Partially Refunded",
        "payment_method": "card",
        "card_last4": "4242",
        "response_code": "10000",
        "response_summary": "Approved",
        "market": "nl-web",
        "metadata": {"business_unit": "EU Retail", "sf_order_id": ORDER_ID},
        "disputed": False,
        "last_event_at": CREATED + timedelta(minutes=5),
        "version": 7,
        "created_at": CREATED,
    }
    values.update(changes)
    return PaymentSnapshot(**values)  # type: ignore[arg-type]


def _action(action_id: str, type_: str, status: str, amount: int | None) -> ActionSnapshot:
    return ActionSnapshot(
        checkout_action_id=action_id,
        type=type_,
        status=status,
        amount_minor=amount,
        response_code="10000" if status == "Succeeded" else None,
        requested_at=CREATED,
        processed_at=CREATED + timedelta(seconds=2) if status == "Succeeded" else None,
    )


ACTIONS = [
    _action("act_1auth", "authorization", "Succeeded", 14990),
    _action("act_2cap", "capture", "Succeeded", 6000),
    _action("act_3cap", "capture", "Succeeded", 4000),
    _action("act_4cap", "capture", "Declined", 4990),
    _action("act_5ref", "refund", "Succeeded", 2500),
]


def _by_sobject(records: list[SalesforceRecord], sobject: str) -> list[SalesforceRecord]:
    return [record for record in records if record.sobject == sobject]


def test_custom_payment_record_holds_the_full_state_in_major_units(custom: ProfileMapping) -> None:
    records = payment_records(custom, _payment(), ACTIONS)

    payment = records[0]
    assert (payment.sobject, payment.key_kind, payment.key_field, payment.key_value) == (
        "CKO_Payment__c",
        "external_id",
        "CKO_Payment_Id__c",
        "pay_abc",
    )
    assert "CKO_Payment_Id__c" not in payment.fields  # the key travels in the URL
    assert payment.fields == {
        "Order__c": ORDER_ID,
        "Account__c": ACCOUNT_ID,
        "Reference__c": "00000100",
        "Status__c": "Partially Refunded",
        "Currency__c": "EUR",
        "Amount__c": Decimal("149.90"),
        "Authorized_Amount__c": Decimal("149.90"),
        "Captured_Amount__c": Decimal("100.00"),
        "Refunded_Amount__c": Decimal("25.00"),
        "Payment_Method__c": "card",
        "Card_Last4__c": "4242",
        "Response_Code__c": "10000",
        "Response_Summary__c": "Approved",
        "Market__c": "nl-web",
        "Disputed__c": False,
        "Last_Event_At__c": "2026-03-01T09:20:00.000Z",
        "Version__c": 7,
        # The market's reporting fields; one the market does not set is written empty.
        "Business_Unit__c": "EU Retail",
        "Settlement_Entity__c": None,
        # Nothing settled yet: written empty (a full-state upsert).
        "Fees__c": None,
        "Net_Amount__c": None,
        "Settlement_Currency__c": None,
    }


def test_custom_actions_point_at_their_payment_by_external_id(custom: ProfileMapping) -> None:
    records = payment_records(custom, _payment(), reversed(ACTIONS))

    actions = _by_sobject(records, "CKO_Payment_Action__c")
    assert [record.key_value for record in actions] == [a.checkout_action_id for a in ACTIONS]
    capture = actions[1]
    assert capture.key_field == "CKO_Action_Id__c"
    assert capture.fields == {
        "Payment__r": {"CKO_Payment_Id__c": "pay_abc"},
        "Type__c": "Capture",
        "Status__c": "Succeeded",
        "Amount__c": Decimal("60.00"),
        "Response_Code__c": "10000",
        "Reference__c": None,
        "Requested_At__c": "2026-03-01T09:15:00.000Z",
        "Processed_At__c": "2026-03-01T09:15:02.000Z",
        "Expires_At__c": None,
        **dict.fromkeys(UNSETTLED_FIELDS),
    }
    assert actions[0].fields["Type__c"] == "Authorization"


UNSETTLED_FIELDS = (
    "Fees__c", "Processing_Fees__c", "Scheme_Fees__c", "Interchange_Fees__c", "Net_Amount__c",
    "Settlement_Currency__c", "Payout_Id__c", "Settled_On__c",
)  # fmt: skip

CAPTURE_SETTLEMENT = Settlement(
    checkout_action_id="act_capture",
    checkout_payment_id="pay_abc",
    action_type="capture",
    currency="GBP",
    processed_at=datetime(2026, 3, 2, 23, 59, tzinfo=UTC),
    settled_on=date(2026, 3, 2),
    gross_minor=5200,
    processing_fees_minor=60,
    scheme_fees_minor=7,
    interchange_minor=20,
    payout_id="po_42",
)


def test_a_settled_capture_carries_its_fees_net_and_payout_in_the_settlement_currency(
    custom: ProfileMapping,
) -> None:
    capture = replace(ACTIONS[1], settlement=CAPTURE_SETTLEMENT)
    totals = settlement_totals([CAPTURE_SETTLEMENT])[0]
    records = payment_records(custom, replace(_payment(), settlement=totals), [capture])

    (action,) = _by_sobject(records, "CKO_Payment_Action__c")
    assert {name: action.fields[name] for name in UNSETTLED_FIELDS} == {
        "Fees__c": Decimal("0.87"),
        "Processing_Fees__c": Decimal("0.60"),
        "Scheme_Fees__c": Decimal("0.07"),
        "Interchange_Fees__c": Decimal("0.20"),
        "Net_Amount__c": Decimal("51.13"),
        "Settlement_Currency__c": "GBP",
        "Payout_Id__c": "po_42",
        "Settled_On__c": "2026-03-02",
    }
    (payment,) = _by_sobject(records, "CKO_Payment__c")
    assert (payment.fields["Fees__c"], payment.fields["Net_Amount__c"]) == (
        Decimal("0.87"),
        Decimal("51.13"),
    )
    assert payment.fields["Settlement_Currency__c"] == "GBP"


def test_an_authorization_carries_its_expiry(custom: ProfileMapping) -> None:
    expires = datetime(2026, 3, 8, 9, 15, tzinfo=UTC)
    authorization = replace(ACTIONS[0], expires_at=expires)

    (action,) = _by_sobject(
        payment_records(custom, _payment(), [authorization]), "CKO_Payment_Action__c"
    )

    assert action.fields["Expires_At__c"] == "2026-03-08T09:15:00.000Z"


def test_parents_come_first_and_the_order_update_last(custom: ProfileMapping) -> None:
    records = payment_records(custom, _payment(), ACTIONS)

    assert [record.sobject for record in records] == (
        ["CKO_Payment__c"] + ["CKO_Payment_Action__c"] * len(ACTIONS) + ["Order"]
    )
    order = records[-1]
    assert (order.key_kind, order.key_field, order.key_value) == ("record_id", None, ORDER_ID)
    assert order.fields == {
        "CKO_Payment_Id__c": "pay_abc",
        "CKO_Payment_Status__c": "Partially Refunded",
        "CKO_Amount_Captured__c": Decimal("100.00"),
        "CKO_Amount_Refunded__c": Decimal("25.00"),
    }


@pytest.mark.parametrize("profile_name", ["custom", "commerce"])
def test_the_order_is_updated_only_when_its_id_is_known(profile_name: str) -> None:
    profile = load_salesforce_mapping().profiles[profile_name]

    records = payment_records(profile, _payment(order_id=None), ACTIONS)

    assert not _by_sobject(records, "Order")


@pytest.mark.parametrize(
    ("currency", "minor", "major", "wire"),
    [
        ("JPY", 1500, Decimal("1500"), b'"Amount__c":1500,'),
        ("EUR", 14990, Decimal("149.90"), b'"Amount__c":149.90,'),
        ("BHD", 1250, Decimal("1.250"), b'"Amount__c":1.250,'),
    ],
)
def test_amounts_use_the_currency_exponent_and_stay_exact_on_the_wire(
    custom: ProfileMapping, currency: str, minor: int, major: Decimal, wire: bytes
) -> None:
    payment = _payment(currency=currency, amount_minor=minor)

    record = payment_records(custom, payment, [])[0]

    assert record.fields["Amount__c"] == major
    assert str(record.fields["Amount__c"]) == str(major)
    assert wire in encode_json(record.fields)


def test_datetimes_are_utc_with_z_whatever_their_zone(custom: ProfileMapping) -> None:
    amsterdam = timezone(timedelta(hours=1))
    payment = _payment(last_event_at=datetime(2026, 3, 1, 10, 0, tzinfo=amsterdam))

    record = payment_records(custom, payment, [])[0]

    assert record.fields["Last_Event_At__c"] == "2026-03-01T09:00:00.000Z"


def test_commerce_writes_only_the_order_of_a_payment(
    commerce: ProfileMapping, custom: ProfileMapping
) -> None:
    """The payments platform owns PaymentAuthorization, Payment and Refund (gateway adapter)."""
    for status in ("Pending", "Authorized", "Partially Refunded", "Declined"):
        records = payment_records(commerce, _payment(status=status), ACTIONS)

        assert [record.sobject for record in records] == ["Order"]
        custom_order = _by_sobject(
            payment_records(custom, _payment(status=status), ACTIONS), "Order"
        )
        assert records[0] == custom_order[0]


def test_a_renamed_or_removed_field_is_what_gets_written(tmp_path: Path) -> None:
    override = tmp_path / "mapping.yaml"
    override.write_text(
        "profiles: {custom: {records: {payment: {fields: "
        "{market: {name: Store__c}, card_last4: null}}}}}"
    )
    profile = load_salesforce_mapping(override).profiles["custom"]

    fields = payment_records(profile, _payment(), [])[0].fields

    assert fields["Store__c"] == "nl-web"
    assert "Market__c" not in fields
    assert "Card_Last4__c" not in fields


def _log(**changes: object) -> LogSnapshot:
    values: dict[str, object] = {
        "id": "log-1",
        "level": "error",
        "operation": "checkout.capture",
        "direction": "outbound",
        "occurred_at": CREATED,
        "http_status": 422,
        "duration_ms": 183,
        "correlation_id": "corr-1",
        "cko_request_id": "req_1",
        "cko_action_id": "act_2cap",
        "error_code": "amount_exceeds_balance",
        "message": "x" * 300,
        "checkout_payment_id": "pay_abc",
    }
    values.update(changes)
    return LogSnapshot(**values)  # type: ignore[arg-type]


def test_custom_log_records_link_to_the_payment_when_there_is_one(custom: ProfileMapping) -> None:
    linked, unlinked = log_records(custom, [_log(), _log(id="log-2", checkout_payment_id=None)])

    assert (linked.sobject, linked.key_field, linked.key_value) == (
        "CKO_Integration_Log__c",
        "CKO_Log_Id__c",
        "log-1",
    )
    assert linked.fields["Payment__r"] == {"CKO_Payment_Id__c": "pay_abc"}
    assert linked.fields["Direction__c"] == "Outbound"
    assert linked.fields["Http_Status__c"] == 422
    assert linked.fields["Occurred_At__c"] == "2026-03-01T09:15:00.000Z"
    assert "Payment__r" not in unlinked.fields


def test_commerce_logs_are_integration_logs_without_a_payment_lookup(
    commerce: ProfileMapping, custom: ProfileMapping
) -> None:
    (log,) = log_records(commerce, [_log()])
    (custom_log,) = log_records(custom, [_log()])

    assert (log.sobject, log.key_field, log.key_value) == (
        "CKO_Integration_Log__c",
        "CKO_Log_Id__c",
        "log-1",
    )
    assert "Payment__r" not in log.fields  # commerce orgs have no CKO_Payment__c to point at
    assert log.fields == {k: v for k, v in custom_log.fields.items() if k != "Payment__r"}


def test_a_dispute_becomes_a_case_keyed_by_the_dispute_id(custom: ProfileMapping) -> None:
    dispute = DisputeSnapshot(
        id="dsp_123",
        status="evidence_required",
        checkout_payment_id="pay_abc",
        payment_reference="00000100",
        category="fraudulent",
        reason_code="10.4",
        amount_minor=14990,
        currency="EUR",
        evidence_required_by=datetime(2026, 3, 20, tzinfo=UTC),
    )

    assignment = CaseAssignment(record_type_id="012000000000001AAA", owner_id="00G000000000002AAA")
    (case,) = dispute_records(custom, dispute, _payment(), assignment)

    assert (case.sobject, case.key_field, case.key_value) == (
        "Case",
        "CKO_Dispute_Id__c",
        "dsp_123",
    )
    assert case.fields == {
        "CKO_Payment__r": {"CKO_Payment_Id__c": "pay_abc"},
        "AccountId": ACCOUNT_ID,
        "Subject": "Payment dispute dsp_123 on 00000100: fraudulent",
        "Status": "New",
        "Origin": "Checkout.com",
        "Priority": "High",
        "CKO_Dispute_Status__c": "evidence_required",
        "CKO_Dispute_Category__c": "fraudulent",
        "CKO_Dispute_Reason_Code__c": "10.4",
        "CKO_Dispute_Amount__c": Decimal("149.90"),
        "CKO_Dispute_Currency__c": "EUR",
        "CKO_Evidence_Due_By__c": "2026-03-20T00:00:00.000Z",
        "CKO_Payment_Reference__c": "00000100",
        "CKO_Payment_Id__c": "pay_abc",
        "RecordTypeId": "012000000000001AAA",
        "OwnerId": "00G000000000002AAA",
    }


def test_a_dispute_of_an_unknown_payment_has_no_payment_link(commerce: ProfileMapping) -> None:
    dispute = DisputeSnapshot(id="dsp_9", status="won")

    (case,) = dispute_records(commerce, dispute, None)

    assert case.fields["Status"] == "Closed"
    assert "AccountId" not in case.fields
    assert "RecordTypeId" not in case.fields  # nothing resolved: the org's default applies
    assert "OwnerId" not in case.fields


def test_reporting_fields_go_where_the_mapping_says(commerce: ProfileMapping) -> None:
    order = commerce.records["order"].model_copy(
        update={"metadata_fields": {"business_unit": FieldMapping(name="BU__c", type="text")}}
    )
    profile = commerce.model_copy(update={"records": {**commerce.records, "order": order}})

    (record,) = payment_records(profile, _payment(), ACTIONS)

    assert record.fields["BU__c"] == "EU Retail"


def test_order_fields_come_from_all_the_orders_payments(custom: ProfileMapping) -> None:
    totals = OrderTotals(
        checkout_payment_id="pay_other",
        status="Captured",
        currency="EUR",
        captured_minor=29980,
        refunded_minor=2500,
        payments=2,
    )
    alone = _by_sobject(payment_records(custom, _payment(), ACTIONS), "Order")[0]
    shown = _by_sobject(payment_records(custom, _payment(), ACTIONS, order=totals), "Order")[0]

    assert alone.fields["CKO_Payment_Id__c"] == "pay_abc"  # without siblings: the payment itself
    assert (shown.key_value, shown.fields["CKO_Payment_Id__c"]) == (ORDER_ID, "pay_other")
    assert shown.fields["CKO_Payment_Status__c"] == "Captured"
    assert shown.fields["CKO_Amount_Captured__c"] == Decimal("299.80")
    assert shown.fields["CKO_Amount_Refunded__c"] == Decimal("25.00")


# --- multi-currency orgs ---------------------------------------------------------------------


def _multi_currency(tmp_path: Path, profile: str) -> ProfileMapping:
    override = tmp_path / "mapping.yaml"
    override.write_text(f"profiles: {{{profile}: {{multi_currency: true}}}}")
    return load_salesforce_mapping(override).profiles[profile]


def test_a_multi_currency_org_gets_the_payments_currency_on_every_record_it_owns(
    tmp_path: Path,
) -> None:
    profile = _multi_currency(tmp_path, "custom")
    actions = [
        _action("act_auth", "authorization", "Succeeded", 14990),
        _action("act_cap", "capture", "Succeeded", 10000),
        _action("act_ref", "refund", "Succeeded", 2500),
    ]

    records = payment_records(profile, _payment(currency="gbp"), actions)

    owned = [record for record in records if record.sobject != "Order"]
    assert len(owned) >= 3
    assert {record.fields.get("CurrencyIsoCode") for record in owned} == {"GBP"}
    # The Order is the org's, updated by Id: its currency is the one the payment was taken in.
    (order,) = _by_sobject(records, "Order")
    assert "CurrencyIsoCode" not in order.fields


def test_a_multi_currency_commerce_org_gets_currency_only_on_the_cases_it_owns(
    tmp_path: Path,
) -> None:
    """In `commerce` paybridge owns no payment record (the payments platform does)."""
    profile = _multi_currency(tmp_path, "commerce")
    dispute = DisputeSnapshot(id="dsp_1", status="evidence_required", currency="USD")

    records = payment_records(profile, _payment(currency="gbp"), ACTIONS)
    (case,) = dispute_records(profile, dispute, None)

    assert [(r.sobject, "CurrencyIsoCode" in r.fields) for r in records] == [("Order", False)]
    assert case.fields["CurrencyIsoCode"] == "USD"


def test_disputes_and_links_carry_their_own_currency(tmp_path: Path) -> None:
    profile = _multi_currency(tmp_path, "custom")
    dispute = DisputeSnapshot(id="dsp_1", status="evidence_required", currency="USD")
    link = LinkSnapshot(
        checkout_link_id="pl_1", order_id=ORDER_ID, status="Active", currency="SEK", amount_minor=1
    )

    (case,) = dispute_records(profile, dispute, _payment(currency="EUR"))
    (link_record,) = link_records(profile, link)
    (log,) = log_records(profile, [_log()])

    assert case.fields["CurrencyIsoCode"] == "USD"
    assert link_record.fields["CurrencyIsoCode"] == "SEK"
    assert "CurrencyIsoCode" not in log.fields  # a log holds no money


def test_a_single_currency_org_never_gets_currency_iso_code(custom: ProfileMapping) -> None:
    """The shipped default: a single-currency org has no CurrencyIsoCode field and refuses it."""
    dispute = DisputeSnapshot(id="dsp_1", status="evidence_required", currency="USD")
    records = payment_records(custom, _payment(), [_action("act_1", "capture", "Succeeded", 1)])
    records += dispute_records(custom, dispute, None)

    assert not any("CurrencyIsoCode" in record.fields for record in records)
