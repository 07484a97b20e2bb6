"""Payment Links paybridge created, and the payment made through each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import upsertable_insert
from paybridge.persistence.tables import payment_links

# Every approved webhook event looks its payment's link up: built once (a reused statement
# keeps its cache key, where building one per call costs CPU on every event).
_ACTIVE_WITH_REFERENCE = select(payment_links).where(
    payment_links.c.reference == bindparam("reference"), payment_links.c.status == "Active"
)


class PaymentLinkRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert_if_absent(self, values: dict[str, Any]) -> RowMapping | None:
        """None when the Checkout.com link is already recorded (a replayed create)."""
        stmt = (
            upsertable_insert(self._conn, payment_links)
            .on_conflict_do_nothing(index_elements=["checkout_link_id"])
            .returning(*payment_links.c)
        )
        return (await self._conn.execute(stmt, values)).mappings().first()

    async def get(self, checkout_link_id: str, *, for_update: bool = False) -> RowMapping | None:
        stmt = select(payment_links).where(payment_links.c.checkout_link_id == checkout_link_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._conn.execute(stmt)).mappings().first()

    async def get_by_record_id(self, record_id: str) -> RowMapping | None:
        stmt = select(payment_links).where(payment_links.c.id == record_id)
        return (await self._conn.execute(stmt)).mappings().first()

    async def list_by_order(self, order_id: str) -> Sequence[RowMapping]:
        stmt = (
            select(payment_links)
            .where(payment_links.c.order_id == order_id)
            .order_by(payment_links.c.created_at, payment_links.c.id)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def paid_by(self, checkout_payment_ids: Sequence[str]) -> Sequence[RowMapping]:
        if not checkout_payment_ids:
            return []
        stmt = select(payment_links).where(
            payment_links.c.checkout_payment_id.in_(list(checkout_payment_ids))
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def get_many(self, record_ids: Sequence[str]) -> Sequence[RowMapping]:
        stmt = select(payment_links).where(payment_links.c.id.in_(list(record_ids)))
        return (await self._conn.execute(stmt)).mappings().all()

    async def active_with_reference(self, reference: str) -> Sequence[RowMapping]:
        result = await self._conn.execute(_ACTIVE_WITH_REFERENCE, {"reference": reference})
        return result.mappings().all()

    async def list_expired_active(self, *, now: datetime, limit: int) -> Sequence[RowMapping]:
        """Links still Active past their expiry: Checkout.com is asked what became of them."""
        stmt = (
            select(payment_links)
            .where(payment_links.c.status == "Active", payment_links.c.expires_at < now)
            .order_by(payment_links.c.expires_at)
            .limit(limit)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def update(self, link_id: str, values: dict[str, Any]) -> None:
        await self._conn.execute(
            update(payment_links).where(payment_links.c.id == link_id).values(**values)
        )

    async def update_if_active(self, link_id: str, values: dict[str, Any]) -> bool:
        """Move a link on from Active only: a webhook may have marked it Paid meanwhile."""
        result = await self._conn.execute(
            update(payment_links)
            .where(payment_links.c.id == link_id, payment_links.c.status == "Active")
            .values(**values)
        )
        return bool(result.rowcount == 1)
