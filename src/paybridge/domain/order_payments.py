"""What an Order shows of its payments: a function of all of them, never of the last one synced.

An Order collects several payments (a declined try, an abandoned 3DS, a split tender, a payment
link). Its payment id and status are those of its latest approved payment, else of its latest
payment; its captured and refunded amounts are sums over its payments (in the currency of the
payment it shows: a sum across currencies would mean nothing). So a late failure of an
abandoned attempt never turns a paid Order back to Declined.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from paybridge.domain.status import PaymentStatus

# Statuses a payment only reaches once it has been approved.
APPROVED_STATUSES = frozenset(
    {
        PaymentStatus.AUTHORIZED,
        PaymentStatus.PARTIALLY_CAPTURED,
        PaymentStatus.CAPTURED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.VOIDED,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPayment:
    """One payment of an Order, as far as the Order is concerned."""

    checkout_payment_id: str
    status: str
    currency: str
    captured_minor: int
    refunded_minor: int
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderTotals:
    checkout_payment_id: str
    status: str
    currency: str
    captured_minor: int
    refunded_minor: int
    payments: int


def order_totals(payments: Iterable[OrderPayment]) -> OrderTotals | None:
    """The Order's fields from all its payments (None when it has none). "Latest" is by the
    time paybridge first recorded the payment, ties broken by id, so the answer never depends
    on the order the payments are listed or their events came in."""
    listed = sorted(payments, key=lambda p: (p.created_at, p.checkout_payment_id))
    if not listed:
        return None
    approved = [p for p in listed if p.status in APPROVED_STATUSES]
    shown = (approved or listed)[-1]
    counted = [p for p in listed if p.currency == shown.currency]
    return OrderTotals(
        checkout_payment_id=shown.checkout_payment_id,
        status=shown.status,
        currency=shown.currency,
        captured_minor=sum(p.captured_minor for p in counted),
        refunded_minor=sum(p.refunded_minor for p in counted),
        payments=len(listed),
    )
