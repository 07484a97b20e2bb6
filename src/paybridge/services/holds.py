"""Settling the amount a capture, void or refund reserved when Checkout.com never acts on it.

A hold is the `requested:{idempotency record}` action the API writes before it calls
Checkout.com. Refused, or abandoned (no answer within the idempotency window, a refusal
recovery cannot fix, recovery out of attempts), it becomes Declined with the reason — so
nothing stays reserved, voids are possible again, and Salesforce hears why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import RowMapping

from paybridge.domain.facts import ActionFact
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.errors import UpstreamError, to_envelope
from paybridge.persistence.uow import UnitOfWork
from paybridge.services.audit import log_row
from paybridge.services.ledger import apply_facts


def hold_key(idempotency_record_id: str) -> str:
    """The action key of the hold a request reserved, until it learns Checkout.com's id."""
    return f"requested:{idempotency_record_id}"


async def settle_hold(
    uow: UnitOfWork, payment: RowMapping, held: RowMapping, *, reason: str, now: datetime
) -> None:
    """Declined, with why (the sync carries it); `payment` is locked by the caller."""
    fact = ActionFact(
        action_key=str(held["checkout_action_id"]),
        type=ActionType(held["type"]),
        status=ActionStatus.DECLINED,
        response_summary=reason[:255],
        processed_at=now,
        source="api",
    )
    await apply_facts(uow, payment, [fact], now=now)


async def abandon_request(uow: UnitOfWork, record_id: str, *, reason: str, now: datetime) -> bool:
    """Give up on an unanswered request: its hold Declined, an ERROR integration log, and
    the answer a late retry of the caller replays. False when it was finished meanwhile."""
    record = await uow.idempotency.get(record_id)
    assert record is not None
    if record["response_status"] is not None:
        return False  # a caller's retry, or the recovery itself, finished it meanwhile
    error = UpstreamError(
        f"The outcome of this request could not be established: {reason}. Nothing is "
        "reserved for it any more; a later webhook still records the action if it happened.",
        code="action_abandoned",
    )
    held = await uow.payments.get_action(hold_key(record_id))
    if held is not None:
        row = await uow.payments.get(held["payment_id"])
        assert row is not None
        payment = await uow.payments.get_by_checkout_id(row["checkout_payment_id"], for_update=True)
        assert payment is not None
        await settle_hold(uow, payment, held, reason=reason, now=now)
        await uow.logs.add(
            log_row(
                [],
                operation=str(record["operation"]),
                now=now,
                correlation_id=None,
                payment_id=str(payment["id"]),
                checkout_payment_id=str(payment["checkout_payment_id"]),
                error_code=error.code,
                message=error.message,
            )
        )
    await uow.idempotency.finish(
        record_id,
        status=error.http_status,
        body=to_envelope(error, None),
        payment_id=held["payment_id"] if held is not None else None,
        now=now,
    )
    return True
