"""Checkout.com webhook bodies → envelope and domain facts (pure, tolerant readers).

Webhooks name things differently from requests (`created_on` or `timestamp`, `last_4`,
`town_city`…), carry amounts in minor units, and arrive in any order; this module only
translates, the ledger decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paybridge.domain.balances import Balances, balances_from
from paybridge.domain.facts import ActionFact, payment_placeholder_key
from paybridge.domain.json_input import MAX_DEPTH, has_nul, nesting_exceeds
from paybridge.domain.status import ActionStatus, ActionType

# event type → (action type, action status)
PAYMENT_EVENTS: dict[str, tuple[ActionType, ActionStatus]] = {
    "payment_approved": (ActionType.AUTHORIZATION, ActionStatus.SUCCEEDED),
    "payment_pending": (ActionType.AUTHORIZATION, ActionStatus.PENDING),
    "payment_declined": (ActionType.AUTHORIZATION, ActionStatus.DECLINED),
    "payment_authentication_failed": (ActionType.AUTHORIZATION, ActionStatus.DECLINED),
    "payment_expired": (ActionType.EXPIRY, ActionStatus.SUCCEEDED),
    "payment_canceled": (ActionType.CANCELLATION, ActionStatus.SUCCEEDED),
    "payment_voided": (ActionType.VOID, ActionStatus.SUCCEEDED),
    "payment_void_declined": (ActionType.VOID, ActionStatus.DECLINED),
    "payment_captured": (ActionType.CAPTURE, ActionStatus.SUCCEEDED),
    "payment_capture_pending": (ActionType.CAPTURE, ActionStatus.PENDING),
    "payment_capture_declined": (ActionType.CAPTURE, ActionStatus.DECLINED),
    "payment_paid": (ActionType.CAPTURE, ActionStatus.SUCCEEDED),
    "payment_refunded": (ActionType.REFUND, ActionStatus.SUCCEEDED),
    "payment_refund_pending": (ActionType.REFUND, ActionStatus.PENDING),
    "payment_refund_declined": (ActionType.REFUND, ActionStatus.DECLINED),
    "payment_returned": (ActionType.RETURN, ActionStatus.SUCCEEDED),
    "card_verified": (ActionType.CARD_VERIFICATION, ActionStatus.SUCCEEDED),
    "card_verification_declined": (ActionType.CARD_VERIFICATION, ActionStatus.DECLINED),
}

_AMOUNT_OF_PAYMENT = frozenset({ActionType.AUTHORIZATION, ActionType.CARD_VERIFICATION})

# Outcomes of the payment itself: one each, whatever event states them without an action id.
_OF_THE_PAYMENT = frozenset({ActionType.AUTHORIZATION, ActionType.EXPIRY, ActionType.CANCELLATION})

# `payment_paid` confirms an alternative payment method's payment in full: a final capture.
_FINAL = frozenset({"payment_paid"})


class UnreadableEvent(ValueError):
    """A verified body that is not a usable event: quarantined, never retried forever."""


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    id: str
    type: str
    occurred_at: datetime | None
    data: dict[str, Any]

    @property
    def subject_id(self) -> str | None:
        value = self.data.get("id")
        return value if isinstance(value, str) else None

    @property
    def is_payment_event(self) -> bool:
        return self.type in PAYMENT_EVENTS

    @property
    def is_dispute_event(self) -> bool:
        return self.type.startswith("dispute_")

    @property
    def is_payout(self) -> bool:
        """Money paid out (to a bank account or a card) names a `destination`: it is not a
        payment of an Order, whatever the event type says (`payment_paid` is sent for both)."""
        return isinstance(self.data.get("destination"), dict)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        text = value.replace("Z", "+00:00")
        # Checkout.com sends 7 fractional digits; Python reads at most 6.
        if "." in text:
            head, _, tail = text.partition(".")
            digits = tail[: len(tail) - len(tail.lstrip("0123456789"))]
            zone = tail[len(digits) :]
            text = f"{head}.{digits[:6]}{zone}"
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_envelope(raw: bytes) -> EventEnvelope:
    """Lenient: `created_on` or `timestamp`; unknown fields ignored; `data` must be an object."""
    if nesting_exceeds(raw):
        raise UnreadableEvent(f"not JSON: nested deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise UnreadableEvent(f"not JSON: {exc}") from exc
    if has_nul(body):
        raise UnreadableEvent("a string holds NUL (U+0000)")
    if not isinstance(body, dict):
        raise UnreadableEvent("not a JSON object")
    event_id, event_type, data = body.get("id"), body.get("type"), body.get("data")
    if not isinstance(event_id, str) or not event_id:
        raise UnreadableEvent("no event id")
    if not isinstance(event_type, str) or not event_type:
        raise UnreadableEvent("no event type")
    if not isinstance(data, dict):
        raise UnreadableEvent("no data object")
    occurred = _parse_time(body.get("created_on")) or _parse_time(body.get("timestamp"))
    return EventEnvelope(id=event_id, type=event_type, occurred_at=occurred, data=data)


def _amount(data: dict[str, Any]) -> int | None:
    value = data.get("amount")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def to_facts(event: EventEnvelope) -> list[ActionFact]:
    """The ledger facts an event states. `payment_paid`/`payment_captured` also imply an
    approved authorization, which the fold infers from the capture itself."""
    kind = PAYMENT_EVENTS.get(event.type)
    if kind is None:
        return []
    action_type, status = kind
    action_id = _text(event.data, "action_id")
    if action_id is not None:
        key = action_id
    elif action_type in _OF_THE_PAYMENT:
        # The payment's own outcome, keyed as reconciliation keys it: never sent to
        # Salesforce as if it were a Checkout.com action id.
        key = payment_placeholder_key(str(event.subject_id), action_type)
    else:
        key = event.id  # stable across redeliveries of the event
    processed = _parse_time(event.data.get("processed_on")) or event.occurred_at
    return [
        ActionFact(
            action_key=key,
            type=action_type,
            status=status,
            amount_minor=_amount(event.data),
            final=True if event.type in _FINAL else None,
            response_code=_text(event.data, "response_code"),
            response_summary=(_text(event.data, "response_summary") or "")[:255] or None,
            reference=None,
            processed_at=processed,
            source="webhook",
        )
    ]


def to_balances(event: EventEnvelope) -> Balances | None:
    """Checkout.com's totals as the event states them (`data.balances`), if it does."""
    return balances_from(event.data.get("balances")) if event.is_payment_event else None


@dataclass(frozen=True, slots=True)
class PaymentSeed:
    """What an event tells about a payment paybridge has not seen (created elsewhere, or the
    webhook overtook our own create response)."""

    checkout_payment_id: str
    reference: str | None
    amount_minor: int
    currency: str
    order_id: str | None
    account_id: str | None
    record_id: str | None
    metadata: dict[str, Any]
    card_last4: str | None
    payment_method: str | None


def to_seed(event: EventEnvelope) -> PaymentSeed | None:
    pid = event.subject_id
    currency = _text(event.data, "currency")
    if pid is None or not pid.startswith("pay_") or currency is None:
        return None
    metadata = event.data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    source = event.data.get("source")
    source = source if isinstance(source, dict) else {}
    last4 = source.get("last_4") or source.get("last4")
    reference = _text(event.data, "reference")

    def meta(key: str) -> str | None:
        value = metadata.get(key)
        return value if isinstance(value, str) else None

    # Only an authorization-type event states the payment's amount; a capture or refund
    # event carries its own action's amount. Unknown is 0 until the authorization arrives.
    kind = PAYMENT_EVENTS.get(event.type)
    states_amount = kind is not None and kind[0] in _AMOUNT_OF_PAYMENT
    return PaymentSeed(
        checkout_payment_id=pid,
        reference=reference[:50] if reference else None,
        amount_minor=(_amount(event.data) or 0) if states_amount else 0,
        currency=currency.upper()[:3],
        order_id=meta("sf_order_id"),
        account_id=meta("sf_account_id"),
        record_id=meta("paybridge_payment_id"),
        metadata={k: v for k, v in metadata.items() if isinstance(v, str | int | float | bool)},
        card_last4=str(last4)[:4] if last4 else None,
        payment_method=_text(source, "type") if source else _text(event.data, "payment_type"),
    )
