"""Facts about a payment, whatever told us (our API call, a webhook, a reconciliation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from paybridge.domain.status import ActionStatus, ActionType


@dataclass(frozen=True, slots=True)
class ActionFact:
    """One observation of one action. `action_key` is Checkout.com's `act_…` id, or an id
    derived from the event for facts that carry none (an expiry, a cancellation)."""

    action_key: str
    type: ActionType
    status: ActionStatus
    amount_minor: int | None = None
    final: bool | None = None
    response_code: str | None = None
    response_summary: str | None = None
    reference: str | None = None
    requested_at: datetime | None = None
    processed_at: datetime | None = None
    source: str = "api"
    idempotency_key_id: str | None = None


def payment_placeholder_key(checkout_payment_id: str, action_type: ActionType) -> str:
    """Stands for the one action of `action_type` Checkout.com reported on the payment itself
    (an authorization answered 202 without an id, an auto-capture answered 201)."""
    return f"{checkout_payment_id}:{action_type.value}"


def is_placeholder_action_key(action_key: str) -> bool:
    """A key paybridge made up while Checkout.com's action id is not known yet
    (`requested:…` holds, `pay_…:authorization`); such actions are not mirrored anywhere."""
    return ":" in action_key
