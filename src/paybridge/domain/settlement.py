"""What one capture or refund did to the merchant's balance, and how two observations merge.

Checkout.com states it in the action's financial actions: the gross amount and each fee, in
the holding (settlement) currency. A later figure for the same action is a correction and
replaces the earlier one; which is later is decided by Checkout.com's `processed_on`, not by
the order paybridge hears of them. The merge picks the later observation (ties broken by the
figures themselves), so it is commutative, associative and idempotent: duplicates, reorderings
and corrections converge on one figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from paybridge.domain.money import exponent


@dataclass(frozen=True, slots=True, kw_only=True)
class Settlement:
    """Minor units of the settlement `currency`. Fees are costs (positive = charged);
    `gross_minor` is signed as Checkout.com states it (a refund's is negative)."""

    checkout_action_id: str
    checkout_payment_id: str
    action_type: str
    currency: str
    processed_at: datetime
    settled_on: date
    gross_minor: int | None = None
    processing_fees_minor: int = 0
    scheme_fees_minor: int = 0
    interchange_minor: int = 0
    payout_id: str | None = None

    @property
    def fees_minor(self) -> int:
        return self.processing_fees_minor + self.scheme_fees_minor + self.interchange_minor

    @property
    def net_minor(self) -> int | None:
        """What reaches (or leaves) the balance: gross less every fee; unknown without gross."""
        return None if self.gross_minor is None else self.gross_minor - self.fees_minor

    def _order(self) -> tuple[object, ...]:
        return (self.processed_at, tuple(repr(value) for value in astuple(self)))


def later(first: Settlement | None, second: Settlement | None) -> Settlement | None:
    """The observation that stands: the later `processed_on` (either, when one is missing)."""
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second, key=Settlement._order)


def fold_settlements(observations: Iterable[Settlement]) -> dict[str, Settlement]:
    """One standing figure per action id."""
    standing: dict[str, Settlement] = {}
    for observation in observations:
        key = observation.checkout_action_id
        merged = later(standing.get(key), observation)
        assert merged is not None
        standing[key] = merged
    return standing


def minor_units(amount: Decimal, currency: str) -> int:
    """A sub-minor decimal (`0.19526938`) as minor units, rounded half to even: fees are
    summed first and rounded once, so rounding never adds up across lines."""
    return int(amount.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementTotals:
    """A payment's settlement figures summed over its actions, per settlement currency
    (one, in practice; several are kept apart rather than added as if they were one)."""

    currency: str
    gross_minor: int
    fees_minor: int
    net_minor: int
    settled_actions: int


def settlement_totals(settlements: Iterable[Settlement]) -> list[SettlementTotals]:
    by_currency: dict[str, list[Settlement]] = {}
    for settlement in settlements:
        by_currency.setdefault(settlement.currency, []).append(settlement)
    return [
        SettlementTotals(
            currency=currency,
            gross_minor=sum(item.gross_minor or 0 for item in items),
            fees_minor=sum(item.fees_minor for item in items),
            net_minor=sum(item.net_minor or 0 for item in items),
            settled_actions=len(items),
        )
        for currency, items in sorted(by_currency.items())
    ]
