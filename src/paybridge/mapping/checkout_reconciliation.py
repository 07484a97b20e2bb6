"""What Checkout.com says about a payment when asked (`GET /payments/{id}/actions`, and
`GET /payments/{id}` for a payment without actions) → the same ledger facts webhooks bring.

Reconciliation asks only when a webhook is overdue; the ledger merges these facts like any
other (by action id, forward only), so asking twice, or after the webhook, changes nothing.
"""

from __future__ import annotations

from paybridge.adapters.checkout.models import PaymentAction, PaymentDetails
from paybridge.domain.facts import ActionFact, payment_placeholder_key
from paybridge.domain.status import ActionStatus, ActionType

SOURCE = "reconciliation"

_ACTION_TYPES = {
    "Authorization": ActionType.AUTHORIZATION,
    "Card Verification": ActionType.CARD_VERIFICATION,
    "Capture": ActionType.CAPTURE,
    "Void": ActionType.VOID,
    "Refund": ActionType.REFUND,
    "Return": ActionType.RETURN,
}

# A payment that never reached an action of its own (a 3DS or APM session abandoned, an
# expired authorization request) tells its outcome only by its status.
_ENDED_WITHOUT_ACTION = {
    "Expired": (ActionType.EXPIRY, ActionStatus.SUCCEEDED),
    "Canceled": (ActionType.CANCELLATION, ActionStatus.SUCCEEDED),
    "Declined": (ActionType.AUTHORIZATION, ActionStatus.DECLINED),
}


def facts_from_actions(actions: list[PaymentAction]) -> list[ActionFact]:
    """One fact per action whose outcome is known (`approved` true or false); action types
    paybridge does not track are left out."""
    facts: list[ActionFact] = []
    for action in actions:
        action_type = _ACTION_TYPES.get(action.type)
        if action_type is None or action.approved is None:
            continue
        facts.append(
            ActionFact(
                action_key=action.id,
                type=action_type,
                status=ActionStatus.SUCCEEDED if action.approved else ActionStatus.DECLINED,
                amount_minor=action.amount,
                response_code=action.response_code,
                response_summary=(action.response_summary or "")[:255] or None,
                reference=(action.reference or "")[:50] or None,
                processed_at=action.processed_on,
                source=SOURCE,
            )
        )
    return facts


def facts_from_status(payment: PaymentDetails) -> list[ActionFact]:
    """The fact a payment's final status states when it has no action to show for it."""
    known = _ENDED_WITHOUT_ACTION.get(payment.status)
    if known is None:
        return []
    action_type, status = known
    key = (
        payment_placeholder_key(payment.id, action_type)
        if action_type is ActionType.AUTHORIZATION
        else f"{payment.id}:{action_type.value}"
    )
    return [ActionFact(action_key=key, type=action_type, status=status, source=SOURCE)]
