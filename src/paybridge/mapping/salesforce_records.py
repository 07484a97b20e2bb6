"""The Salesforce records of a payment, its logs and its disputes, as pure functions of state.

Every record is a full-state upsert keyed by an external ID (or, for Order, the record Id), so
writing the output twice, late or out of order gives the same Salesforce data. Amounts are
major-unit Decimals (sent as JSON numbers); datetimes are ISO 8601 UTC strings ending in `Z`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from paybridge.domain.money import to_major
from paybridge.domain.order_payments import OrderTotals
from paybridge.domain.settlement import Settlement, SettlementTotals
from paybridge.mapping.salesforce_fields import (
    FieldMapping,
    FieldType,
    KeyKind,
    ProfileMapping,
    RecordMapping,
)

# The standard field of every record in a multi-currency org: a restricted picklist of the org's
# active currencies, "available only if the multicurrency feature is enabled" (Object Reference,
# e.g. https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_case.htm).
CURRENCY_ISO_CODE = "CurrencyIsoCode"


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentSnapshot:
    """A payment's current state as the fold computed it (amounts in minor units)."""

    id: str
    checkout_payment_id: str
    currency: str
    amount_minor: int
    status: str
    created_at: datetime
    version: int = 1
    order_id: str | None = None
    account_id: str | None = None
    reference: str | None = None
    authorized_minor: int = 0
    captured_minor: int = 0
    refunded_minor: int = 0
    payment_method: str | None = None
    card_last4: str | None = None
    response_code: str | None = None
    response_summary: str | None = None
    market: str | None = None
    # The market's reporting fields (markets file `metadata`), as sent to Checkout.com.
    metadata: Mapping[str, str] = field(default_factory=dict)
    disputed: bool = False
    last_event_at: datetime | None = None
    # Its settled captures and refunds summed, when they settled in one currency.
    settlement: SettlementTotals | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionSnapshot:
    """One Checkout.com action of a payment (the authorization included)."""

    checkout_action_id: str
    type: str
    status: str
    amount_minor: int | None = None
    response_code: str | None = None
    reference: str | None = None
    requested_at: datetime | None = None
    processed_at: datetime | None = None
    final: bool | None = None
    expires_at: datetime | None = None
    settlement: Settlement | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSnapshot:
    """One integration log entry to mirror into Salesforce."""

    id: str
    level: str
    operation: str
    direction: str
    occurred_at: datetime
    http_status: int | None = None
    duration_ms: int | None = None
    correlation_id: str | None = None
    cko_request_id: str | None = None
    cko_event_id: str | None = None
    cko_action_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    checkout_payment_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeSnapshot:
    """A Checkout.com dispute (`dsp_…`) and the payment it belongs to."""

    id: str
    status: str
    checkout_payment_id: str | None = None
    payment_action_id: str | None = None
    payment_reference: str | None = None
    category: str | None = None
    reason_code: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    evidence_required_by: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSnapshot:
    """A Payment Link and, once paid, the Checkout.com payment made through it."""

    checkout_link_id: str
    order_id: str
    status: str
    currency: str
    amount_minor: int
    url: str | None = None
    expires_at: datetime | None = None
    checkout_payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class SalesforceRecord:
    """One record to write: upsert by `key_field` = `key_value`, or update by record Id.

    `fields` never contains the key field (Salesforce refuses it in an upsert body).
    """

    sobject: str
    key_kind: KeyKind
    key_field: str | None
    key_value: str
    fields: dict[str, Any] = field(default_factory=dict)


def payment_records(
    profile: ProfileMapping,
    payment: PaymentSnapshot,
    actions: Iterable[ActionSnapshot],
    *,
    order: OrderTotals | None = None,
) -> list[SalesforceRecord]:
    """Every record of one payment, parents first (so a composite request can resolve them).
    `order`: the totals of all the payment's Order's payments (else the payment alone)."""
    ordered = sorted(actions, key=lambda action: action.checkout_action_id)
    records: list[SalesforceRecord] = []
    if profile.kind == "custom":
        # In `commerce` the payments platform owns the payment's records (gateway adapter).
        records.append(_custom_payment(profile, payment))
        records += [_custom_action(profile, payment, action) for action in ordered]
    records = _in_currency(profile, records, payment.currency)
    if payment.order_id:
        records.append(_order(profile, payment, payment.order_id, order))
    return records


def log_records(profile: ProfileMapping, logs: Iterable[LogSnapshot]) -> list[SalesforceRecord]:
    """One CKO_Integration_Log__c record per entry (both profiles)."""
    return [_custom_log(profile, log) for log in logs]


@dataclass(frozen=True, slots=True)
class CaseAssignment:
    """The Case record type and owner queue as org Ids (the mapping file names them by
    developer name; the caller resolves them in the org)."""

    record_type_id: str | None = None
    owner_id: str | None = None


def dispute_records(
    profile: ProfileMapping,
    dispute: DisputeSnapshot,
    payment: PaymentSnapshot | None,
    assignment: CaseAssignment = CaseAssignment(),
) -> list[SalesforceRecord]:
    """The dispute's Case, with the record type and owner the mapping names (as resolved).

    The Case points at the payment's record only when `payment` is given; its records must
    then be written first (same composite request, or earlier).
    """
    mapping = profile.record("dispute_case")
    out = _Fields(mapping)
    out.put("dispute_id", dispute.id)
    if payment is not None:
        out.put("payment", payment.checkout_payment_id)
        out.put("account_id", payment.account_id)
    out.put("subject", _dispute_subject(dispute))
    out.put("case_status", profile.status_maps.get("dispute", {}).get(dispute.status))
    out.put("origin", mapping.origin)
    out.put("priority", mapping.priority)
    out.put("dispute_status", dispute.status)
    out.put("category", dispute.category)
    out.put("reason_code", dispute.reason_code)
    if dispute.amount_minor is not None and dispute.currency:
        out.put("amount", to_major(dispute.amount_minor, dispute.currency))
    out.put("currency", dispute.currency)
    out.put("evidence_due_by", dispute.evidence_required_by)
    out.put("payment_reference", dispute.payment_reference)
    out.put("checkout_payment_id", dispute.checkout_payment_id)
    if assignment.record_type_id:
        out.fields["RecordTypeId"] = assignment.record_type_id
    if assignment.owner_id:
        out.fields["OwnerId"] = assignment.owner_id
    currency = dispute.currency or (payment.currency if payment is not None else None)
    return _in_currency(profile, [out.record(dispute.id)], currency)


def link_records(profile: ProfileMapping, link: LinkSnapshot) -> list[SalesforceRecord]:
    """The link's record (none when the profile does not mirror links). Its payment lookup is
    set once paid; that record is written after the payment's (`WRITE_ORDER`)."""
    mapping = profile.records.get("payment_link")
    if mapping is None:
        return []
    out = _Fields(mapping)
    out.put("link_id", link.checkout_link_id)
    out.put("order_id", link.order_id)
    out.put("url", link.url)
    out.put("status", _mapped(profile, "payment_link", link.status))
    out.put("expires_at", link.expires_at)
    out.put("amount", to_major(link.amount_minor, link.currency))
    out.put("currency", link.currency)
    out.put("payment", link.checkout_payment_id)
    return _in_currency(profile, [out.record(link.checkout_link_id)], link.currency)


def to_salesforce_datetime(value: datetime) -> str:
    """`2026-01-31T09:15:00.000Z`; a naive datetime is taken to be UTC already."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- custom profile -------------------------------------------------------------------------


def _custom_payment(profile: ProfileMapping, payment: PaymentSnapshot) -> SalesforceRecord:
    out = _Fields(profile.record("payment"), payment)
    money = payment.currency
    out.put("checkout_payment_id", payment.checkout_payment_id)
    out.put("order_id", payment.order_id)
    out.put("account_id", payment.account_id)
    out.put("reference", payment.reference)
    out.put("status", _mapped(profile, "payment", payment.status))
    out.put("currency", money)
    out.put("amount", to_major(payment.amount_minor, money))
    out.put("authorized_amount", to_major(payment.authorized_minor, money))
    out.put("captured_amount", to_major(payment.captured_minor, money))
    out.put("refunded_amount", to_major(payment.refunded_minor, money))
    out.put("payment_method", payment.payment_method)
    out.put("card_last4", payment.card_last4)
    out.put("response_code", payment.response_code)
    out.put("response_summary", payment.response_summary)
    out.put("market", payment.market)
    out.put("disputed", payment.disputed)
    out.put("last_event_at", payment.last_event_at)
    out.put("version", payment.version)
    totals = payment.settlement
    if totals is None:
        for logical in ("settlement_currency", "fees", "net_amount"):
            out.put(logical, None)
    else:
        out.put("settlement_currency", totals.currency)
        out.put("fees", to_major(totals.fees_minor, totals.currency))
        out.put("net_amount", to_major(totals.net_minor, totals.currency))
    return out.record(payment.checkout_payment_id)


def _custom_action(
    profile: ProfileMapping, payment: PaymentSnapshot, action: ActionSnapshot
) -> SalesforceRecord:
    out = _Fields(profile.record("action"))
    out.put("checkout_action_id", action.checkout_action_id)
    out.put("payment", payment.checkout_payment_id)
    out.put("type", _mapped(profile, "action_type", action.type))
    out.put("status", _mapped(profile, "action", action.status))
    out.put("amount", _major_or_none(action.amount_minor, payment.currency))
    out.put("response_code", action.response_code)
    out.put("reference", action.reference)
    out.put("requested_at", action.requested_at)
    out.put("processed_at", action.processed_at)
    out.put("expires_at", action.expires_at)
    _put_settlement(out, action.settlement)
    return out.record(action.checkout_action_id)


def _put_settlement(out: _Fields, settlement: Settlement | None) -> None:
    """The settlement fields of an action record (all empty until it settles)."""
    if settlement is None:
        for logical in _SETTLEMENT_FIELDS:
            out.put(logical, None)
        return
    money = settlement.currency
    out.put("fees", to_major(settlement.fees_minor, money))
    out.put("processing_fees", to_major(settlement.processing_fees_minor, money))
    out.put("scheme_fees", to_major(settlement.scheme_fees_minor, money))
    out.put("interchange", to_major(settlement.interchange_minor, money))
    out.put("net_amount", _major_or_none(settlement.net_minor, money))
    out.put("settlement_currency", money)
    out.put("payout_id", settlement.payout_id)
    out.put("settled_on", settlement.settled_on)


_SETTLEMENT_FIELDS = (
    "fees",
    "processing_fees",
    "scheme_fees",
    "interchange",
    "net_amount",
    "settlement_currency",
    "payout_id",
    "settled_on",
)


def _custom_log(profile: ProfileMapping, log: LogSnapshot) -> SalesforceRecord:
    out = _Fields(profile.record("log"))
    out.put("id", log.id)
    out.put("payment", log.checkout_payment_id)
    out.put("level", _mapped(profile, "log_level", log.level.lower()))
    out.put("operation", log.operation)
    out.put("direction", _mapped(profile, "direction", log.direction.lower()))
    out.put("http_status", log.http_status)
    out.put("duration_ms", log.duration_ms)
    out.put("correlation_id", log.correlation_id)
    out.put("cko_request_id", log.cko_request_id)
    out.put("cko_event_id", log.cko_event_id)
    out.put("cko_action_id", log.cko_action_id)
    out.put("error_code", log.error_code)
    out.put("message", log.message)
    out.put("occurred_at", log.occurred_at)
    return out.record(log.id)


# --- shared ---------------------------------------------------------------------------------


def _order(
    profile: ProfileMapping, payment: PaymentSnapshot, order_id: str, order: OrderTotals | None
) -> SalesforceRecord:
    shown = order or OrderTotals(
        checkout_payment_id=payment.checkout_payment_id,
        status=payment.status,
        currency=payment.currency,
        captured_minor=payment.captured_minor,
        refunded_minor=payment.refunded_minor,
        payments=1,
    )
    out = _Fields(profile.record("order"), payment)
    out.put("checkout_payment_id", shown.checkout_payment_id)
    out.put("status", _mapped(profile, "payment", shown.status))
    out.put("captured_amount", to_major(shown.captured_minor, shown.currency))
    out.put("refunded_amount", to_major(shown.refunded_minor, shown.currency))
    return out.record(order_id)


def _in_currency(
    profile: ProfileMapping, records: list[SalesforceRecord], currency: str | None
) -> list[SalesforceRecord]:
    """In a multi-currency org, the records paybridge owns carry their money's currency, so
    currency fields show the right money. Not the Order (updated by Id, its currency is the
    org's own, the one the payment was taken in), nor a log (it holds no money): those keep
    theirs. A mapping that already writes CurrencyIsoCode keeps its value."""
    if not profile.multi_currency or not currency:
        return records
    return [
        replace(record, fields={CURRENCY_ISO_CODE: currency.upper(), **record.fields})
        for record in records
    ]


class _Fields:
    """Collects the fields of one record, skipping logical fields the mapping leaves out."""

    def __init__(self, mapping: RecordMapping, payment: PaymentSnapshot | None = None) -> None:
        self.mapping = mapping
        self.fields: dict[str, Any] = dict(mapping.constants)
        if payment is not None:  # a record of a payment carries its reporting fields
            for key, mapped in mapping.metadata_fields.items():
                self.fields[mapped.name] = _convert(mapped, payment.metadata.get(key))

    def put(self, logical: str, value: object) -> None:
        mapped = self.mapping.fields.get(logical)
        if mapped is None or mapped.name == self.mapping.key_field:
            return
        if mapped.via_external_id:
            # A relationship by external ID cannot be cleared with null; leave it alone.
            if value is not None:
                self.fields[mapped.name] = {mapped.via_external_id: value}
            return
        self.fields[mapped.name] = _convert(mapped, value)

    def record(self, key_value: str) -> SalesforceRecord:
        return SalesforceRecord(
            sobject=self.mapping.sobject,
            key_kind=self.mapping.key_kind,
            key_field=self.mapping.key_field,
            key_value=key_value,
            fields=self.fields,
        )


def _convert(mapped: FieldMapping, value: object) -> object:
    if value is None:
        return None
    if isinstance(value, datetime):
        if mapped.type is FieldType.DATE:
            return to_salesforce_datetime(value)[:10]
        return to_salesforce_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and mapped.max_length is not None:
        return value[: mapped.max_length]
    return value


def _mapped(profile: ProfileMapping, map_name: str, value: str) -> str:
    """The Salesforce value for a paybridge value; unmapped values pass through unchanged."""
    return profile.status_maps.get(map_name, {}).get(value, value)


def _major_or_none(amount_minor: int | None, currency: str) -> Decimal | None:
    return None if amount_minor is None else to_major(amount_minor, currency)


def _dispute_subject(dispute: DisputeSnapshot) -> str:
    subject = f"Payment dispute {dispute.id}"
    if dispute.payment_reference:
        subject += f" on {dispute.payment_reference}"
    if dispute.category:
        subject += f": {dispute.category}"
    return subject
