"""Checkout.com's own running totals of a payment (`data.balances`), and how two of them merge.

Every payment event may carry the totals as they stood when it happened. The totals only grow
(authorized, captured, refunded, voided), so of two observations the one further along is the
newer; merging keeps it. That merge is commutative, associative and idempotent, so the totals
a payment ends with do not depend on the order or the repetition of its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Balances:
    """Minor units, as Checkout.com states them."""

    total_authorized: int = 0
    total_captured: int = 0
    total_refunded: int = 0
    total_voided: int = 0
    available_to_capture: int = 0
    available_to_refund: int = 0
    available_to_void: int = 0

    @property
    def capture_closed(self) -> bool:
        """Nothing more can be captured although something was: a final or full capture."""
        return self.total_captured > 0 and self.available_to_capture == 0

    def _progress(self) -> tuple[int, ...]:
        # Totals first (they only grow); the remaining fields only break ties, so that any
        # two different observations compare the same way whichever is met first.
        totals = (self.total_authorized, self.total_captured, self.total_refunded)
        return (
            sum(totals) + self.total_voided,
            self.total_captured,
            self.total_refunded,
            self.total_voided,
            self.total_authorized,
            -self.available_to_capture,
            -self.available_to_refund,
            -self.available_to_void,
        )

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def merge_balances(first: Balances | None, second: Balances | None) -> Balances | None:
    """The observation further along (either, when one is missing)."""
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second, key=Balances._progress)


def balances_from(value: object) -> Balances | None:
    """Tolerant reader of a `balances` object: integer fields only; None when there is none."""
    if not isinstance(value, Mapping):
        return None
    known: dict[str, Any] = {}
    for name in Balances.__dataclass_fields__:
        field_value = value.get(name)
        if isinstance(field_value, int) and not isinstance(field_value, bool) and field_value >= 0:
            known[name] = field_value
    return Balances(**known) if known else None
