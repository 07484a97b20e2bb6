"""A payment's stored rows → the snapshots the pure Salesforce mapping takes, and its records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import RowMapping

from paybridge.domain.facts import is_placeholder_action_key
from paybridge.domain.order_payments import OrderPayment, OrderTotals, order_totals
from paybridge.domain.settlement import Settlement, settlement_totals
from paybridge.domain.status import ActionType
from paybridge.mapping.markets_file import metadata_text
from paybridge.mapping.salesforce_fields import ProfileMapping
from paybridge.mapping.salesforce_records import (
    ActionSnapshot,
    CaseAssignment,
    DisputeSnapshot,
    LinkSnapshot,
    PaymentSnapshot,
    SalesforceRecord,
    dispute_records,
    link_records,
    payment_records,
)
from paybridge.services.settlement import settlements_by_action

# Record kinds in dependency order: a parent's type is always written before its children's.
WRITE_ORDER = {
    "custom": ("payment", "action", "payment_link", "dispute_case", "order", "log"),
    "commerce": ("dispute_case", "order", "log"),
}


def type_order(profile: ProfileMapping) -> list[str]:
    """The profile's sObjects in the order collections must write them."""
    return [
        profile.records[name].sobject
        for name in WRITE_ORDER[profile.kind]
        if name in profile.records
    ]


def payment_snapshot(
    row: RowMapping, settlements: Mapping[str, Settlement] | None = None
) -> PaymentSnapshot:
    totals = settlement_totals((settlements or {}).values())
    return PaymentSnapshot(
        id=row["id"],
        checkout_payment_id=row["checkout_payment_id"],
        currency=row["currency"],
        amount_minor=int(row["amount_minor"]),
        status=row["status"],
        created_at=row["created_at"],
        version=int(row["version"]),
        order_id=row["order_id"],
        account_id=row["account_id"],
        reference=row["reference"],
        authorized_minor=int(row["authorized_minor"]),
        captured_minor=int(row["captured_minor"]),
        refunded_minor=int(row["refunded_minor"]),
        payment_method=row["payment_method"],
        card_last4=row["card_last4"],
        response_code=row["response_code"],
        response_summary=row["response_summary"],
        market=row["market"],
        metadata=reporting_fields(row["metadata"]),
        disputed=bool(row["disputed"]),
        last_event_at=row["last_event_at"],
        # Summed only within one currency: several would make a meaningless total.
        settlement=totals[0] if len(totals) == 1 else None,
    )


def reporting_fields(metadata: object) -> dict[str, str]:
    """The payment's stored metadata as text (booleans and numbers as Checkout.com got them)."""
    if not isinstance(metadata, dict):
        return {}
    return {
        str(key): metadata_text(value)
        for key, value in metadata.items()
        if isinstance(value, str | int | float | bool)
    }


def mirrored_actions(
    rows: Sequence[RowMapping],
    *,
    settlements: Mapping[str, Settlement] | None = None,
    authorization_expires_at: datetime | None = None,
) -> list[ActionSnapshot]:
    """The actions to mirror. Placeholder keys (`requested:…` holds, `pay_…:authorization`)
    are left out: their record would be keyed by an id that is about to change, and the real
    `act_…` record would then be a duplicate."""
    kept: list[ActionSnapshot] = []
    for row in rows:
        key = row["checkout_action_id"]
        if is_placeholder_action_key(key):
            continue
        kept.append(
            ActionSnapshot(
                checkout_action_id=key,
                type=row["type"],
                status=row["status"],
                amount_minor=row["amount_minor"],
                response_code=row["response_code"],
                reference=row["reference"],
                requested_at=row["requested_at"],
                processed_at=row["processed_at"],
                final=row["final"],
                expires_at=authorization_expires_at
                if row["type"] == ActionType.AUTHORIZATION.value
                else None,
                settlement=(settlements or {}).get(key),
            )
        )
    return kept


def dispute_snapshot(row: RowMapping, *, checkout_payment_id: str | None) -> DisputeSnapshot:
    return DisputeSnapshot(
        id=row["id"],
        status=row["status"],
        checkout_payment_id=row["checkout_payment_id"] or checkout_payment_id,
        payment_action_id=row["payment_action_id"],
        payment_reference=row["payment_reference"],
        category=row["category"],
        reason_code=row["reason_code"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        evidence_required_by=row["evidence_required_by"],
    )


def order_payment(row: RowMapping) -> OrderPayment:
    return OrderPayment(
        checkout_payment_id=row["checkout_payment_id"],
        status=row["status"],
        currency=row["currency"],
        captured_minor=int(row["captured_minor"]),
        refunded_minor=int(row["refunded_minor"]),
        created_at=row["created_at"],
    )


def totals_of_order(payment: RowMapping, siblings: Sequence[RowMapping]) -> OrderTotals | None:
    """The totals of `payment`'s Order from its payments as read (`payment` itself as given,
    whatever `siblings` holds of it)."""
    if not payment["order_id"]:
        return None
    others = [
        row
        for row in siblings
        if row["order_id"] == payment["order_id"] and row["id"] != payment["id"]
    ]
    return order_totals(order_payment(row) for row in [payment, *others])


def records_of(
    profile: ProfileMapping,
    payment: RowMapping,
    actions: Sequence[RowMapping],
    disputes: Sequence[RowMapping],
    assignment: CaseAssignment = CaseAssignment(),
    *,
    order_payments: Sequence[RowMapping] = (),
    links: Sequence[RowMapping] = (),
    settlements: Sequence[RowMapping] = (),
) -> list[SalesforceRecord]:
    """Every record of one payment's current state, parents first (disputes' Cases last).
    `order_payments`: the other payments of its Order, which its Order's fields also sum;
    `links`: the Payment Links paid by this payment (their records look it up)."""
    settled = settlements_by_action(settlements, checkout_payment_id=payment["checkout_payment_id"])
    snapshot = payment_snapshot(payment, settled)
    records = payment_records(
        profile,
        snapshot,
        mirrored_actions(
            actions,
            settlements=settled,
            authorization_expires_at=payment.get("authorization_expires_at"),
        ),
        order=totals_of_order(payment, order_payments),
    )
    for row in links:
        records += link_records(profile, link_snapshot(row))
    for row in disputes:
        dispute = dispute_snapshot(row, checkout_payment_id=snapshot.checkout_payment_id)
        records += dispute_records(profile, dispute, snapshot, assignment)
    return records


def link_snapshot(row: RowMapping) -> LinkSnapshot:
    return LinkSnapshot(
        checkout_link_id=row["checkout_link_id"],
        order_id=row["order_id"],
        status=row["status"],
        currency=row["currency"],
        amount_minor=int(row["amount_minor"]),
        url=row["url"],
        expires_at=row["expires_at"],
        checkout_payment_id=row["checkout_payment_id"],
    )


def links_logs_to_payment(profile: ProfileMapping) -> bool:
    """Whether log records look their payment up (the lookup fails until the payment exists)."""
    log = profile.records.get("log")
    return log is not None and "payment" in log.fields
