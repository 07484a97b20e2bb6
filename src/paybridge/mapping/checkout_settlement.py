"""Checkout.com financial actions → the settlement of each capture and refund (pure).

Breakdown lines are sorted by their `breakdown_type` (Checkout.com's "Breakdown types" page
names them: `Gross`, `Interchange Passthrough Fee`, `Scheme Fixed Fee`, `Scheme Variable
Fee`, `Processing Fee`, `Gateway Fee`, …):

- a type with "gross" in its name is the gross amount;
- "interchange" → interchange; "scheme" → scheme fees;
- any other type with "fee" in its name → processing fees (Checkout.com's own);
- anything else (reserves, FX adjustments) is neither, and is left out of both.

Amounts are summed per kind in the holding currency and rounded once to its minor unit.
Lines in another holding currency than the action's first one are left out (one action
settles in one currency). The settlement date is the day the action reached the balance
(`processed_on`, UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from paybridge.adapters.checkout.financial_actions import FinancialAction
from paybridge.domain.settlement import Settlement, minor_units

SETTLED_ACTION_TYPES = frozenset({"capture", "refund"})
"""Financial action types folded into an action's settlement (`action_type`, any case)."""

LineKind = Literal["gross", "interchange", "scheme", "processing"]


def line_kind(breakdown_type: str) -> LineKind | None:
    name = breakdown_type.casefold()
    if "gross" in name:
        return "gross"
    if "interchange" in name:
        return "interchange"
    if "scheme" in name:
        return "scheme"
    if "fee" in name:
        return "processing"
    return None


def to_settlement(action: FinancialAction) -> Settlement | None:
    """The settlement a capture's or refund's financial action states (None for other
    action types, and for an action with no breakdown yet)."""
    if action.action_type.casefold() not in SETTLED_ACTION_TYPES or not action.breakdown:
        return None
    gross = next(
        (line for line in action.breakdown if line_kind(line.breakdown_type) == "gross"), None
    )
    currency = (gross or action.breakdown[0]).holding_currency.upper()
    sums: dict[LineKind, Decimal] = {}
    for line in action.breakdown:
        kind = line_kind(line.breakdown_type)
        if kind is None or line.holding_currency.upper() != currency:
            continue
        sums[kind] = sums.get(kind, Decimal(0)) + line.holding_currency_amount

    def minor(kind: LineKind) -> int:
        return minor_units(sums.get(kind, Decimal(0)), currency)

    return Settlement(
        checkout_action_id=action.action_id,
        checkout_payment_id=action.payment_id,
        action_type=action.action_type.casefold(),
        currency=currency,
        processed_at=_utc(action.processed_on),
        settled_on=_utc(action.processed_on).date(),
        gross_minor=minor("gross") if "gross" in sums else None,
        processing_fees_minor=minor("processing"),
        scheme_fees_minor=minor("scheme"),
        interchange_minor=minor("interchange"),
        payout_id=action.payout_id,
    )


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def settlements_of(actions: Iterable[FinancialAction]) -> list[Settlement]:
    return [s for s in (to_settlement(action) for action in actions) if s is not None]
