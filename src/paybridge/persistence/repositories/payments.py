"""Payments and their action ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import upsertable_insert
from paybridge.persistence.grouping import group_by
from paybridge.persistence.tables import payment_actions, payments


class PaymentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert_if_absent(self, values: dict[str, Any]) -> RowMapping | None:
        """Insert a payment unless its Checkout.com id is known: the new row (locked by this
        transaction), or None."""
        stmt = (
            upsertable_insert(self._conn, payments)
            .on_conflict_do_nothing(index_elements=["checkout_payment_id"])
            .returning(*payments.c)
        )
        return (await self._conn.execute(stmt, values)).mappings().first()

    async def get(self, payment_id: str) -> RowMapping | None:
        row = await self._conn.execute(select(payments).where(payments.c.id == payment_id))
        return row.mappings().first()

    async def get_many(self, payment_ids: Sequence[str]) -> Sequence[RowMapping]:
        """Several payments in one round trip (the Salesforce sync reads a batch)."""
        stmt = select(payments).where(payments.c.id.in_(list(payment_ids)))
        return (await self._conn.execute(stmt)).mappings().all()

    async def get_by_checkout_id(
        self, checkout_payment_id: str, *, for_update: bool = False
    ) -> RowMapping | None:
        """The payment row; `for_update` serializes everything done to one payment."""
        stmt = select(payments).where(payments.c.checkout_payment_id == checkout_payment_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._conn.execute(stmt)).mappings().first()

    async def list_by_order(self, order_id: str) -> Sequence[RowMapping]:
        stmt = (
            select(payments)
            .where(payments.c.order_id == order_id)
            .order_by(payments.c.created_at, payments.c.id)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def update(self, payment_id: str, values: dict[str, Any]) -> None:
        await self._conn.execute(
            update(payments).where(payments.c.id == payment_id).values(**values)
        )

    async def bump_version(self, payment_id: str, values: dict[str, Any]) -> int:
        """Apply `values` and increment the version Salesforce sync compares against."""
        stmt = (
            update(payments)
            .where(payments.c.id == payment_id)
            .values(**values, version=payments.c.version + 1)
            .returning(payments.c.version)
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def mark_synced(
        self, payment_id: str, *, version: int, at: datetime, error: str | None
    ) -> None:
        """Record a sync of `version` (or its failure). `synced_version` only moves forward:
        a slower worker that wrote an older version never overwrites a newer one's mark."""
        stmt = update(payments).where(payments.c.id == payment_id)
        if error is not None:
            await self._conn.execute(stmt.values(last_sync_error=error))
            return
        await self._conn.execute(
            stmt.where(payments.c.synced_version <= version).values(
                synced_version=version, last_synced_at=at, last_sync_error=None
            )
        )

    # --- the ledger ---------------------------------------------------------------------

    async def insert_action_if_absent(self, values: dict[str, Any]) -> RowMapping | None:
        """Add an action unless its Checkout.com action id is known: the new row, or None."""
        stmt = (
            upsertable_insert(self._conn, payment_actions)
            .on_conflict_do_nothing(index_elements=["checkout_action_id"])
            .returning(*payment_actions.c)
        )
        return (await self._conn.execute(stmt, values)).mappings().first()

    async def get_action(self, checkout_action_id: str) -> RowMapping | None:
        stmt = select(payment_actions).where(
            payment_actions.c.checkout_action_id == checkout_action_id
        )
        return (await self._conn.execute(stmt)).mappings().first()

    async def update_action(self, action_row_id: str, values: dict[str, Any]) -> RowMapping:
        """Change an action row; returns it as it now is."""
        stmt = (
            update(payment_actions)
            .where(payment_actions.c.id == action_row_id)
            .values(**values)
            .returning(*payment_actions.c)
        )
        return (await self._conn.execute(stmt)).mappings().one()

    async def delete_action(self, action_row_id: str) -> None:
        await self._conn.execute(
            delete(payment_actions).where(payment_actions.c.id == action_row_id)
        )

    async def list_actions(self, payment_id: str) -> Sequence[RowMapping]:
        return (await self.actions_of([payment_id])).get(payment_id, [])

    async def actions_of(self, payment_ids: Sequence[str]) -> dict[str, list[RowMapping]]:
        """The ledgers of several payments in one round trip, each in recorded order."""
        stmt = (
            select(payment_actions)
            .where(payment_actions.c.payment_id.in_(list(payment_ids)))
            .order_by(payment_actions.c.created_at, payment_actions.c.id)
        )
        return group_by(await self._conn.execute(stmt), "payment_id")
