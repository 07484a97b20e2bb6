"""Assemble the public view of a payment from its rows (used by every route that returns one)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import RowMapping

from paybridge.domain.disputes import lost_minor, parse_status
from paybridge.domain.money import format_major
from paybridge.domain.order_payments import order_totals
from paybridge.domain.settlement import Settlement, settlement_totals
from paybridge.domain.status import ActionStatus, ActionType, PaymentStatus
from paybridge.errors import NotFound
from paybridge.persistence.uow import UnitOfWork
from paybridge.schemas.payments import (
    ActionRead,
    AmountsRead,
    DisputeSummaryRead,
    OrderPaymentsRead,
    PaymentRead,
    SalesforceSyncRead,
)
from paybridge.schemas.settlement import ActionSettlementRead, SettlementTotalsRead
from paybridge.services.ledger import state_of
from paybridge.services.salesforce_state import order_payment
from paybridge.services.settlement import settlements_by_action


def _major(amount_minor: int | None, currency: str) -> str | None:
    return None if amount_minor is None else format_major(amount_minor, currency)


def lost_in_disputes(disputes: list[RowMapping], currency: str) -> int:
    """Minor units lost to the payment's disputes (those in its own currency)."""
    total = 0
    for row in disputes:
        status = parse_status(row["status"])
        if status is not None and (row["currency"] or currency) == currency:
            total += lost_minor(status, row["amount_minor"])
    return total


def build_payment_read(
    payment: RowMapping,
    actions: list[RowMapping],
    disputes: list[RowMapping],
    settlements: Sequence[RowMapping] = (),
) -> PaymentRead:
    currency = str(payment["currency"])
    state = state_of(payment, actions)
    settled = settlements_by_action(settlements, checkout_payment_id=payment["checkout_payment_id"])

    def major(amount: int) -> str:
        return format_major(amount, currency)

    return PaymentRead(
        payment_id=payment["checkout_payment_id"],
        status=PaymentStatus(payment["status"]),
        approved=payment["approved"],
        amount=major(int(payment["amount_minor"])),
        amount_minor=int(payment["amount_minor"]),
        currency=currency,
        reference=payment["reference"],
        response_code=payment["response_code"],
        response_summary=payment["response_summary"],
        redirect_url=payment["redirect_url"],
        order_id=payment["order_id"],
        market=payment["market"],
        payment_method=payment["payment_method"],
        disputed=bool(payment["disputed"]),
        amounts=AmountsRead(
            authorized=major(int(payment["authorized_minor"])),
            captured=major(int(payment["captured_minor"])),
            refunded=major(int(payment["refunded_minor"])),
            available_to_capture=major(state.available_to_capture),
            available_to_refund=major(state.available_to_refund),
            available_to_void=major(state.available_to_void),
            lost_in_disputes=major(lost_in_disputes(disputes, currency)),
        ),
        actions=[
            ActionRead(
                action_id=row["checkout_action_id"],
                type=ActionType(row["type"]),
                amount=_major(row["amount_minor"], currency),
                status=ActionStatus(row["status"]),
                response_code=row["response_code"],
                response_summary=row["response_summary"],
                reference=row["reference"],
                requested_at=row["requested_at"],
                processed_at=row["processed_at"],
                settlement=action_settlement_read(settled.get(row["checkout_action_id"])),
            )
            for row in actions
        ],
        disputes=[
            DisputeSummaryRead(
                dispute_id=row["id"],
                status=row["status"],
                category=row["category"],
                amount=_major(row["amount_minor"], row["currency"] or currency),
                evidence_required_by=row["evidence_required_by"],
            )
            for row in disputes
        ],
        settlement=settlement_totals_read(settled.values()),
        authorization_expires_at=payment["authorization_expires_at"],
        salesforce=SalesforceSyncRead(
            version=int(payment["version"]),
            synced_version=int(payment["synced_version"]),
            last_synced_at=payment["last_synced_at"],
            last_error=payment["last_sync_error"],
        ),
        created_at=payment["created_at"],
        updated_at=payment["updated_at"],
    )


async def load_payment_read(uow: UnitOfWork, checkout_payment_id: str) -> PaymentRead:
    payment = await uow.payments.get_by_checkout_id(checkout_payment_id)
    if payment is None:
        raise NotFound(f"No payment {checkout_payment_id}.", code="payment_not_found")
    return await read_of(uow, payment)


async def read_of(
    uow: UnitOfWork,
    payment: RowMapping,
    *,
    actions: Sequence[RowMapping] | None = None,
    disputes: Sequence[RowMapping] | None = None,
    settlements: Sequence[RowMapping] | None = None,
) -> PaymentRead:
    """The payment's view; `actions`, `disputes` and `settlements` are read unless the
    caller knows them."""
    if actions is None:
        actions = await uow.payments.list_actions(payment["id"])
    if disputes is None:
        disputes = await uow.disputes.list_for_payment(payment["id"])
    if settlements is None:
        settlements = []
        if payment["captured_minor"] or payment["refunded_minor"]:  # else none can exist
            found = await uow.settlements.of_payments([payment["id"]])
            settlements = found.get(payment["id"], [])
    return build_payment_read(
        payment, in_timeline_order(actions), list(disputes), list(settlements)
    )


def action_settlement_read(settlement: Settlement | None) -> ActionSettlementRead | None:
    if settlement is None:
        return None
    money = settlement.currency
    return ActionSettlementRead(
        currency=money,
        gross=_major(settlement.gross_minor, money),
        processing_fees=format_major(settlement.processing_fees_minor, money),
        scheme_fees=format_major(settlement.scheme_fees_minor, money),
        interchange=format_major(settlement.interchange_minor, money),
        fees=format_major(settlement.fees_minor, money),
        net=_major(settlement.net_minor, money),
        payout_id=settlement.payout_id,
        settled_on=settlement.settled_on,
    )


def settlement_totals_read(settled: Iterable[Settlement]) -> list[SettlementTotalsRead]:
    return [
        SettlementTotalsRead(
            currency=totals.currency,
            gross=format_major(totals.gross_minor, totals.currency),
            fees=format_major(totals.fees_minor, totals.currency),
            net=format_major(totals.net_minor, totals.currency),
            settled_actions=totals.settled_actions,
        )
        for totals in settlement_totals(settled)
    ]


def in_timeline_order(actions: Sequence[RowMapping]) -> list[RowMapping]:
    """Actions as they happened, not as their webhooks arrived: the opening authorization
    first, then by Checkout.com's processing time (else request time, else recording time).
    Out-of-order delivery records a capture before its authorization."""
    opening = {ActionType.AUTHORIZATION, ActionType.CARD_VERIFICATION}

    def key(action: RowMapping) -> tuple[bool, datetime, datetime]:
        happened = action["processed_at"] or action["requested_at"] or action["created_at"]
        return (action["type"] not in opening, happened, action["created_at"])

    return sorted(actions, key=key)


def order_read(rows: Sequence[RowMapping]) -> OrderPaymentsRead | None:
    """The Order's fields from all its payments, as the Salesforce sync writes them."""
    totals = order_totals(order_payment(row) for row in rows)
    if totals is None:
        return None
    return OrderPaymentsRead(
        payment_id=totals.checkout_payment_id,
        status=PaymentStatus(totals.status),
        currency=totals.currency,
        captured=format_major(totals.captured_minor, totals.currency),
        refunded=format_major(totals.refunded_minor, totals.currency),
        payments=totals.payments,
    )
