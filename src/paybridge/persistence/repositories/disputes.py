"""Disputes (chargebacks) linked to their payments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import upsertable_insert
from paybridge.persistence.tables import disputes


class DisputeRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        stmt = (
            upsertable_insert(self._conn, disputes)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(disputes.c.id)
        )
        return (await self._conn.execute(stmt)).first() is not None

    async def get(self, dispute_id: str, *, for_update: bool = False) -> RowMapping | None:
        stmt = select(disputes).where(disputes.c.id == dispute_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._conn.execute(stmt)).mappings().first()

    async def list_for_payment(self, payment_id: str) -> Sequence[RowMapping]:
        stmt = (
            select(disputes)
            .where(disputes.c.payment_id == payment_id)
            .order_by(disputes.c.created_at)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def update(self, dispute_id: str, values: dict[str, Any]) -> None:
        await self._conn.execute(
            update(disputes).where(disputes.c.id == dispute_id).values(**values)
        )
