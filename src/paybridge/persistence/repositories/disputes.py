"""Disputes (chargebacks) linked to their payments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, Select, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import upsertable_insert
from paybridge.persistence.grouping import group_by
from paybridge.persistence.tables import disputes, payments


def _unlinked(*, by_reference: bool, for_update: bool) -> Select[*tuple[Any, ...]]:
    match = disputes.c.checkout_payment_id == bindparam("checkout_payment_id")
    if by_reference:
        match = or_(match, disputes.c.payment_reference == bindparam("reference"))
    stmt = select(disputes).where(disputes.c.payment_id.is_(None), match).order_by(disputes.c.id)
    return stmt.with_for_update() if for_update else stmt


# The statements every payment event and sync runs are built once: a reused statement keeps
# its cache key, where building one per call costs CPU every time.
_UNLINKED = {
    (by_reference, for_update): _unlinked(by_reference=by_reference, for_update=for_update)
    for by_reference in (False, True)
    for for_update in (False, True)
}
_OF_PAYMENTS = (
    select(disputes)
    .where(disputes.c.payment_id.in_(bindparam("payment_ids", expanding=True)))
    .order_by(disputes.c.created_at, disputes.c.id)
)


class DisputeRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        stmt = (
            upsertable_insert(self._conn, disputes)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(disputes.c.id)
        )
        return (await self._conn.execute(stmt, values)).first() is not None

    async def get(self, dispute_id: str, *, for_update: bool = False) -> RowMapping | None:
        stmt = select(disputes).where(disputes.c.id == dispute_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._conn.execute(stmt)).mappings().first()

    async def list_for_payment(self, payment_id: str) -> Sequence[RowMapping]:
        return (await self.of_payments([payment_id])).get(payment_id, [])

    async def of_payments(self, payment_ids: Sequence[str]) -> dict[str, list[RowMapping]]:
        """The disputes of several payments in one round trip, oldest first."""
        result = await self._conn.execute(_OF_PAYMENTS, {"payment_ids": list(payment_ids)})
        return group_by(result, "payment_id")

    async def update(self, dispute_id: str, values: dict[str, Any]) -> None:
        await self._conn.execute(
            update(disputes).where(disputes.c.id == dispute_id).values(**values)
        )

    async def unlinked(
        self, *, checkout_payment_id: str, reference: str | None, for_update: bool = False
    ) -> Sequence[RowMapping]:
        """Disputes not linked to a payment yet that name this one (its Checkout.com id, or
        its reference)."""
        stmt = _UNLINKED[bool(reference), for_update]
        params = {"checkout_payment_id": checkout_payment_id, "reference": reference}
        return (await self._conn.execute(stmt, params)).mappings().all()

    async def payments_with_reference(self, reference: str) -> Sequence[RowMapping]:
        """Candidate payments for a dispute that names only the payment's reference."""
        stmt = (
            select(payments.c.id, payments.c.checkout_payment_id, payments.c.captured_minor)
            .where(payments.c.reference == reference)
            .order_by(payments.c.created_at)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def list_naming_payment(
        self, checkout_payment_id: str, *, payment_id: str | None
    ) -> Sequence[RowMapping]:
        """Disputes linked to the payment, or naming its Checkout.com id (not linked yet)."""
        match = disputes.c.checkout_payment_id == checkout_payment_id
        if payment_id is not None:
            match = or_(match, disputes.c.payment_id == payment_id)
        stmt = select(disputes).where(match).order_by(disputes.c.created_at, disputes.c.id)
        return (await self._conn.execute(stmt)).mappings().all()
