"""The Salesforce mapping file: shipped defaults, partial overrides, and errors that say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from paybridge.domain.status import PaymentStatus
from paybridge.mapping.salesforce_fields import (
    FieldType,
    SalesforceMappingError,
    load_salesforce_mapping,
)

# DESIGN §5: the Salesforce package ships exactly these API names.
CUSTOM_PAYMENT_FIELDS = {
    "CKO_Payment_Id__c", "Order__c", "Account__c", "Reference__c", "Status__c", "Currency__c",
    "Amount__c", "Authorized_Amount__c", "Captured_Amount__c", "Refunded_Amount__c",
    "Payment_Method__c", "Card_Last4__c", "Response_Code__c", "Response_Summary__c", "Market__c",
    "Disputed__c", "Last_Event_At__c", "Version__c",
    # DESIGN §6b: the payment's settlement totals
    "Fees__c", "Net_Amount__c", "Settlement_Currency__c",
}  # fmt: skip
CUSTOM_ACTION_FIELDS = {
    "CKO_Action_Id__c", "Payment__r", "Type__c", "Status__c", "Amount__c", "Response_Code__c",
    "Reference__c", "Requested_At__c", "Processed_At__c",
    # DESIGN §6b: expiry of authorizations, fees and settlement of captures and refunds
    "Expires_At__c", "Fees__c", "Processing_Fees__c", "Scheme_Fees__c", "Interchange_Fees__c",
    "Net_Amount__c", "Settlement_Currency__c", "Payout_Id__c", "Settled_On__c",
}  # fmt: skip
CUSTOM_LOG_FIELDS = {
    "CKO_Log_Id__c", "Payment__r", "Level__c", "Operation__c", "Direction__c", "Http_Status__c",
    "Duration_Ms__c", "Correlation_Id__c", "CKO_Request_Id__c", "CKO_Event_Id__c",
    "CKO_Action_Id__c", "Error_Code__c", "Message__c", "Occurred_At__c",
}  # fmt: skip
ORDER_FIELDS = {
    "CKO_Payment_Id__c", "CKO_Payment_Status__c", "CKO_Amount_Captured__c",
    "CKO_Amount_Refunded__c",
}  # fmt: skip


def _names(profile: str, record: str) -> set[str]:
    mapping = load_salesforce_mapping()
    return {field.name for field in mapping.profiles[profile].records[record].fields.values()}


def test_defaults_name_exactly_the_custom_objects_of_the_design() -> None:
    custom = load_salesforce_mapping().profiles["custom"]

    assert custom.kind == "custom"
    assert custom.records["payment"].sobject == "CKO_Payment__c"
    assert custom.records["payment"].key_field == "CKO_Payment_Id__c"
    assert _names("custom", "payment") == CUSTOM_PAYMENT_FIELDS
    assert custom.records["action"].sobject == "CKO_Payment_Action__c"
    assert _names("custom", "action") == CUSTOM_ACTION_FIELDS
    assert custom.records["log"].sobject == "CKO_Integration_Log__c"
    assert _names("custom", "log") == CUSTOM_LOG_FIELDS
    assert custom.records["order"].key_kind == "record_id"
    assert custom.records["order"].key_field is None
    assert _names("custom", "order") == ORDER_FIELDS
    case = custom.records["dispute_case"]
    assert (case.sobject, case.key_field) == ("Case", "CKO_Dispute_Id__c")
    assert (case.record_type, case.origin, case.priority, case.owner_queue) == (
        "Payment_Dispute",
        "Checkout.com",
        "High",
        None,
    )


def test_the_action_reaches_its_payment_through_the_payment_external_id() -> None:
    payment = load_salesforce_mapping().profiles["custom"].records["action"].fields["payment"]

    assert payment.type is FieldType.MASTER_DETAIL
    assert payment.references == "CKO_Payment__c"
    assert payment.via_external_id == "CKO_Payment_Id__c"


def test_the_commerce_defaults_leave_the_payments_platforms_objects_alone() -> None:
    """Commerce Payments owns PaymentAuthorization, Payment, Refund and PaymentGatewayLog."""
    commerce = load_salesforce_mapping().profiles["commerce"]

    keys = {name: (r.sobject, r.key_field) for name, r in commerce.records.items()}
    assert keys == {
        "log": ("CKO_Integration_Log__c", "CKO_Log_Id__c"),
        "order": ("Order", None),
        "dispute_case": ("Case", "CKO_Dispute_Id__c"),
    }
    assert "payment" not in commerce.records["log"].fields
    assert set(commerce.status_maps["payment"]) == set(PaymentStatus)


def test_a_commerce_override_of_the_old_platform_records_is_refused(tmp_path: Path) -> None:
    """Orgs that renamed fields of the old records learn at start-up, not at the first write."""
    override = tmp_path / "mapping.yaml"
    override.write_text(
        "profiles: {commerce: {records: {refund: {sobject: Refund, key_kind: external_id, "
        "key_field: CKO_Action_Id__c, fields: {amount: {name: Amount, type: currency}}}}}}"
    )

    with pytest.raises(SalesforceMappingError, match="record 'refund': unknown record"):
        load_salesforce_mapping(override)


def test_a_partial_override_renames_one_field_and_keeps_the_rest(tmp_path: Path) -> None:
    override = tmp_path / "mapping.yaml"
    override.write_text(
        "profiles:\n"
        "  custom:\n"
        "    records:\n"
        "      payment:\n"
        "        fields:\n"
        "          market: {name: Store__c}\n"
        "          card_last4: null\n"
        "    status_maps:\n"
        "      payment: {Captured: Paid}\n"
    )

    mapping = load_salesforce_mapping(override)

    payment = mapping.profiles["custom"].records["payment"]
    assert payment.fields["market"].name == "Store__c"
    assert payment.fields["market"].type is FieldType.TEXT
    assert "card_last4" not in payment.fields
    assert payment.fields["amount"].name == "Amount__c"
    assert mapping.profiles["custom"].status_maps["payment"]["Captured"] == "Paid"
    assert mapping.profiles["custom"].status_maps["payment"]["Voided"] == "Voided"
    assert mapping.profiles["commerce"].records["order"].sobject == "Order"


def test_an_empty_override_file_means_the_defaults(tmp_path: Path) -> None:
    override = tmp_path / "empty.yaml"
    override.write_text("")

    assert load_salesforce_mapping(override) == load_salesforce_mapping()


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "profiles: {custom: {records: {payment: {fields: {amount: {type: money}}}}}}",
            ["profile 'custom'", "record 'payment'", "field 'amount'", "type"],
        ),
        (
            "profiles: {custom: {records: {action: {fields: {payment: {references: null}}}}}}",
            ["profile 'custom'", "record 'action'", "field 'payment'", "references"],
        ),
        (
            "profiles: {commerce: {records: {order: {fields: {amout: {name: X__c, type: text}}}}}}",
            ["profile 'commerce'", "record 'order'", "field 'amout'", "unknown field"],
        ),
        (
            "profiles: {custom: {records: {payment: {fields: {status: {name: 'Status c'}}}}}}",
            ["profile 'custom'", "record 'payment'", "field 'status'", "API name"],
        ),
        (
            "profiles: {custom: {records: {action: {fields: {payment: {name: Payment__c}}}}}}",
            ["record 'action'", "field 'payment'", "relationship name"],
        ),
        (
            "profiles: {custom: {records: {order: {key_field: Id}}}}",
            ["profile 'custom'", "record 'order'", "key_field"],
        ),
        (
            "profiles: {custom: {records: {payment: {fields: {market: {name: Amount__c}}}}}}",
            ["record 'payment'", "'amount'", "'market'", "Amount__c"],
        ),
        (
            "profiles: {custom: {records: {invoice: {sobject: X__c, key_kind: record_id, "
            "fields: {}}}}}",
            ["profile 'custom'", "record 'invoice'", "unknown record"],
        ),
        (
            "profiles: {custom: {status_maps: {payment: {Captured: null}}}}",
            ["profile 'custom'", "payment", "Captured"],
        ),
    ],
)
def test_an_invalid_file_is_refused_naming_file_profile_record_and_field(
    tmp_path: Path, yaml_text: str, expected: list[str]
) -> None:
    override = tmp_path / "customer-mapping.yaml"
    override.write_text(yaml_text)

    with pytest.raises(SalesforceMappingError) as caught:
        load_salesforce_mapping(override)

    message = str(caught.value)
    assert str(override) in message
    for fragment in expected:
        assert fragment in message


def test_broken_yaml_and_missing_files_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("profiles: [unclosed")

    with pytest.raises(SalesforceMappingError, match=r"broken\.yaml"):
        load_salesforce_mapping(broken)
    with pytest.raises(SalesforceMappingError, match=r"nowhere\.yaml"):
        load_salesforce_mapping(tmp_path / "nowhere.yaml")


def test_unknown_profiles_and_records_are_errors_when_looked_up() -> None:
    mapping = load_salesforce_mapping()

    with pytest.raises(SalesforceMappingError, match="'nope'"):
        mapping.profile("nope")
    with pytest.raises(SalesforceMappingError, match="'refund'"):
        mapping.profile("custom").record("refund")
