"""Payment and action vocabularies, and the fold that derives a payment's state from its ledger.

A payment's status and amounts are a pure function of the *set* of actions known for it
(keyed by Checkout.com action id) and of Checkout.com's own totals (`data.balances`, merged
order-free), so duplicated or reordered webhooks converge to the same state. Actions only
move forward (Requested → Pending → Succeeded | Declined); a settled action never changes,
and a terminal payment status is final.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from paybridge.domain.balances import Balances


class PaymentStatus(StrEnum):
    PENDING = "Pending"
    AUTHORIZED = "Authorized"
    CARD_VERIFIED = "Card Verified"
    PARTIALLY_CAPTURED = "Partially Captured"
    CAPTURED = "Captured"
    PARTIALLY_REFUNDED = "Partially Refunded"
    REFUNDED = "Refunded"
    VOIDED = "Voided"
    DECLINED = "Declined"
    EXPIRED = "Expired"
    CANCELED = "Canceled"
    FAILED = "Failed"


TERMINAL_STATUSES = frozenset(
    {
        PaymentStatus.VOIDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.DECLINED,
        PaymentStatus.EXPIRED,
        PaymentStatus.CANCELED,
    }
)


class ActionType(StrEnum):
    AUTHORIZATION = "authorization"
    CARD_VERIFICATION = "card_verification"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    RETURN = "return"
    EXPIRY = "expiry"
    CANCELLATION = "cancellation"


class ActionStatus(StrEnum):
    REQUESTED = "Requested"
    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    DECLINED = "Declined"


_ACTION_RANK = {
    ActionStatus.REQUESTED: 0,
    ActionStatus.PENDING: 1,
    ActionStatus.SUCCEEDED: 2,
    ActionStatus.DECLINED: 2,
}


def advance_action_status(current: ActionStatus, incoming: ActionStatus) -> ActionStatus:
    """Forward-only merge of two observations of one action; the first settlement wins."""
    if _ACTION_RANK[incoming] > _ACTION_RANK[current]:
        return incoming
    return current


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One action as the fold sees it."""

    type: ActionType
    status: ActionStatus
    amount_minor: int | None
    final: bool | None = None


@dataclass(frozen=True, slots=True)
class PaymentState:
    status: PaymentStatus
    authorized_minor: int
    captured_minor: int
    refunded_minor: int
    pending_capture_minor: int
    pending_refund_minor: int
    capture_closed: bool

    @property
    def available_to_capture(self) -> int:
        if self.status not in {PaymentStatus.AUTHORIZED, PaymentStatus.PARTIALLY_CAPTURED}:
            return 0
        if self.capture_closed:
            return 0
        return max(self.authorized_minor - self.captured_minor - self.pending_capture_minor, 0)

    @property
    def available_to_refund(self) -> int:
        if self.status in {PaymentStatus.VOIDED, PaymentStatus.DECLINED}:
            return 0
        return max(self.captured_minor - self.refunded_minor - self.pending_refund_minor, 0)

    @property
    def available_to_void(self) -> int:
        if self.status is not PaymentStatus.AUTHORIZED:
            return 0
        return self.authorized_minor - self.pending_capture_minor

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


def _sum(entries: Iterable[LedgerEntry], kind: ActionType, statuses: set[ActionStatus]) -> int:
    return sum(e.amount_minor or 0 for e in entries if e.type is kind and e.status in statuses)


_OPEN = {ActionStatus.REQUESTED, ActionStatus.PENDING}


def fold(
    entries: Iterable[LedgerEntry], *, amount_minor: int, balances: Balances | None = None
) -> PaymentState:
    """Derive status and amounts from the ledger; independent of the order of `entries`.

    `amount_minor` is the amount the payment was requested for (0 when paybridge did not
    request it): the authorized amount when the authorization action carries none (a capture
    seen before its approval implies one). `balances` are Checkout.com's own totals (the
    furthest observation): they count like actions paybridge never saw, so a payment known
    from one late event still reads what Checkout.com says.
    """
    ledger = list(entries)
    totals = balances or Balances()

    def has(kind: ActionType, status: ActionStatus) -> bool:
        return any(e.type is kind and e.status is status for e in ledger)

    captured = max(
        _sum(ledger, ActionType.CAPTURE, {ActionStatus.SUCCEEDED}), totals.total_captured
    )
    refunded = max(
        _sum(ledger, ActionType.REFUND, {ActionStatus.SUCCEEDED})
        + _sum(ledger, ActionType.RETURN, {ActionStatus.SUCCEEDED}),
        totals.total_refunded,
    )
    voided = has(ActionType.VOID, ActionStatus.SUCCEEDED) or totals.total_voided > 0
    auth_amounts = [
        e.amount_minor
        for e in ledger
        if e.type is ActionType.AUTHORIZATION and e.amount_minor is not None
    ]
    if totals.total_authorized:
        auth_amounts.append(totals.total_authorized)
    approved = (
        has(ActionType.AUTHORIZATION, ActionStatus.SUCCEEDED)
        or totals.total_authorized > 0
        or captured > 0
        or voided
    )
    # The authorized amount may be unknown yet (a capture webhook without balances overtook
    # the approval of a payment created elsewhere): then only a final capture closes the
    # authorization, so partial knowledge never yields a premature final status.
    auth_amount = max(auth_amounts) if auth_amounts else (amount_minor or None)
    authorized = max(auth_amount or 0, captured) if approved else 0
    final_capture = totals.capture_closed or any(
        e.type is ActionType.CAPTURE and e.status is ActionStatus.SUCCEEDED and e.final
        for e in ledger
    )
    capture_closed = final_capture or (auth_amount is not None and captured >= auth_amount)

    status = _status(
        ledger,
        approved=approved,
        voided=voided,
        captured=captured,
        refunded=refunded,
        capture_closed=capture_closed,
    )
    return PaymentState(
        status=status,
        authorized_minor=authorized,
        captured_minor=captured,
        refunded_minor=refunded,
        pending_capture_minor=_sum(ledger, ActionType.CAPTURE, _OPEN),
        pending_refund_minor=_sum(ledger, ActionType.REFUND, _OPEN),
        capture_closed=capture_closed,
    )


_AUTHORIZING = frozenset({ActionType.AUTHORIZATION, ActionType.CARD_VERIFICATION})


def stated_amount(
    entries: Iterable[LedgerEntry], *, requested_minor: int | None, balances: Balances | None
) -> int:
    """The payment's amount from the best evidence known, whatever order it came in: what
    paybridge requested; else the authorization's own amount; else Checkout.com's authorized
    total; else the largest amount any event named (a lone refund or capture), else 0."""
    if requested_minor:
        return requested_minor
    ledger = list(entries)
    authorizing = [e.amount_minor for e in ledger if e.type in _AUTHORIZING and e.amount_minor]
    if authorizing:
        return max(authorizing)
    if balances is not None and balances.total_authorized:
        return balances.total_authorized
    named = [e.amount_minor for e in ledger if e.amount_minor is not None]
    if balances is not None:
        named += [balances.total_captured, balances.total_voided, balances.total_refunded]
    return max(named, default=0)


def _status(
    ledger: list[LedgerEntry],
    *,
    approved: bool,
    voided: bool,
    captured: int,
    refunded: int,
    capture_closed: bool,
) -> PaymentStatus:
    def has(kind: ActionType, status: ActionStatus) -> bool:
        return any(e.type is kind and e.status is status for e in ledger)

    if voided and captured == 0:
        return PaymentStatus.VOIDED
    if captured > 0:
        if refunded >= captured and capture_closed:
            return PaymentStatus.REFUNDED
        if refunded > 0:
            return PaymentStatus.PARTIALLY_REFUNDED
        if capture_closed:
            return PaymentStatus.CAPTURED
        return PaymentStatus.PARTIALLY_CAPTURED
    if has(ActionType.AUTHORIZATION, ActionStatus.DECLINED):
        return PaymentStatus.DECLINED
    if has(ActionType.CARD_VERIFICATION, ActionStatus.DECLINED):
        return PaymentStatus.DECLINED
    if has(ActionType.CANCELLATION, ActionStatus.SUCCEEDED):
        return PaymentStatus.CANCELED
    if has(ActionType.EXPIRY, ActionStatus.SUCCEEDED):
        return PaymentStatus.EXPIRED
    if approved:
        return PaymentStatus.AUTHORIZED
    if has(ActionType.CARD_VERIFICATION, ActionStatus.SUCCEEDED):
        return PaymentStatus.CARD_VERIFIED
    return PaymentStatus.PENDING
