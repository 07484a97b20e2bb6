"""Checkout.com's answer to `POST /payments` → the first facts of the payment's ledger (pure)."""

from __future__ import annotations

from paybridge.adapters.checkout.models import PaymentResponse
from paybridge.domain.facts import ActionFact, payment_placeholder_key
from paybridge.domain.status import ActionStatus, ActionType


def authorization_fact(
    response: PaymentResponse, *, amount_minor: int, idempotency_key_id: str
) -> ActionFact:
    """The first ledger entry, from Checkout.com's answer to `POST /payments`."""
    status = response.status
    if response.approved is False or status == "Declined":
        outcome = ActionStatus.DECLINED
    elif status == "Pending":
        outcome = ActionStatus.PENDING
    else:
        outcome = ActionStatus.SUCCEEDED
    verification = status == "Card Verified" or amount_minor == 0
    return ActionFact(
        action_key=response.action_id
        or payment_placeholder_key(response.id, ActionType.AUTHORIZATION),
        type=ActionType.CARD_VERIFICATION if verification else ActionType.AUTHORIZATION,
        status=outcome,
        amount_minor=response.amount if response.amount is not None else amount_minor,
        response_code=response.response_code,
        response_summary=response.response_summary,
        processed_at=response.processed_on,
        source="api",
        idempotency_key_id=idempotency_key_id,
    )


def captured_fact(response: PaymentResponse, *, amount_minor: int) -> ActionFact | None:
    """An auto-captured card payment reports `Captured` on the 201: a capture happened too."""
    if response.status not in {"Captured", "Paid"}:
        return None
    return ActionFact(
        action_key=payment_placeholder_key(response.id, ActionType.CAPTURE),
        type=ActionType.CAPTURE,
        status=ActionStatus.SUCCEEDED,
        amount_minor=response.amount if response.amount is not None else amount_minor,
        final=True,
        processed_at=response.processed_on,
        source="api",
    )
