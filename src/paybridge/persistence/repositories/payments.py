"""Payments and their action ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.domain.redaction import Redact, redact_text
from paybridge.persistence.dialect import PerDialect
from paybridge.persistence.grouping import group_by
from paybridge.persistence.tables import payment_actions, payments
from paybridge.persistence.updates import RowUpdates

# The statements of the per-event hot path are built once: a reused statement keeps its
# cache key, where building one per call costs CPU on every event. Every UPDATE names the
# columns it sets (`RowUpdates` builds one per set of columns, from the table).
_INSERT = PerDialect(
    lambda dialect_insert: (
        dialect_insert(payments)
        .on_conflict_do_nothing(index_elements=["checkout_payment_id"])
        .returning(*payments.c)
    )
)
_GET = select(payments).where(payments.c.id == bindparam("payment_id"))
_GET_MANY = select(payments).where(payments.c.id.in_(bindparam("payment_ids", expanding=True)))
_BY_CHECKOUT_ID = select(payments).where(
    payments.c.checkout_payment_id == bindparam("checkout_payment_id")
)
_BY_CHECKOUT_ID_FOR_UPDATE = _BY_CHECKOUT_ID.with_for_update()
_UPDATES = RowUpdates(payments)
_BUMPS = RowUpdates(payments, always={"version": payments.c.version + 1}, returning=True)
_LOCK_BY_CHECKOUT_IDS = (
    select(payments.c.id)
    .where(payments.c.checkout_payment_id.in_(bindparam("checkout_payment_ids", expanding=True)))
    .order_by(payments.c.checkout_payment_id)
    .with_for_update()
)
_BY_ID = update(payments).where(payments.c.id == bindparam("b_id"))
_MARK_SYNCED = _BY_ID.where(payments.c.synced_version <= bindparam("b_version")).values(
    synced_version=bindparam("b_version"), last_synced_at=bindparam("b_at"), last_sync_error=None
)
_MARK_SYNC_FAILED = _BY_ID.values(last_sync_error=bindparam("b_error"))
_INSERT_ACTION = PerDialect(
    lambda dialect_insert: (
        dialect_insert(payment_actions)
        .on_conflict_do_nothing(index_elements=["checkout_action_id"])
        .returning(*payment_actions.c)
    )
)
_ACTION_UPDATES = RowUpdates(payment_actions, returning=True)
_ACTIONS_OF = (
    select(payment_actions)
    .where(payment_actions.c.payment_id.in_(bindparam("payment_ids", expanding=True)))
    .order_by(payment_actions.c.created_at, payment_actions.c.id)
)


class PaymentRepository:
    def __init__(self, conn: AsyncConnection, *, redact: Redact = redact_text) -> None:
        self._conn = conn
        self._redact = redact  # for error text it stores

    async def insert_if_absent(self, values: dict[str, Any]) -> RowMapping | None:
        """Insert a payment unless its Checkout.com id is known: the new row (locked by this
        transaction), or None."""
        return (await self._conn.execute(_INSERT.of(self._conn), values)).mappings().first()

    async def get(self, payment_id: str) -> RowMapping | None:
        row = await self._conn.execute(_GET, {"payment_id": payment_id})
        return row.mappings().first()

    async def get_many(self, payment_ids: Sequence[str]) -> Sequence[RowMapping]:
        """Several payments in one round trip (the Salesforce sync reads a batch)."""
        result = await self._conn.execute(_GET_MANY, {"payment_ids": list(payment_ids)})
        return result.mappings().all()

    async def get_by_checkout_id(
        self, checkout_payment_id: str, *, for_update: bool = False
    ) -> RowMapping | None:
        """The payment row; `for_update` serializes everything done to one payment."""
        stmt = _BY_CHECKOUT_ID_FOR_UPDATE if for_update else _BY_CHECKOUT_ID
        row = await self._conn.execute(stmt, {"checkout_payment_id": checkout_payment_id})
        return row.mappings().first()

    async def lock_by_checkout_ids(self, checkout_payment_ids: Sequence[str]) -> None:
        """Lock the known payments among these, in Checkout.com id order: the order every
        transaction that locks several payments takes them in, so none waits in a cycle."""
        if checkout_payment_ids:
            params = {"checkout_payment_ids": list(checkout_payment_ids)}
            await self._conn.execute(_LOCK_BY_CHECKOUT_IDS, params)

    async def list_by_order(self, order_id: str) -> Sequence[RowMapping]:
        stmt = (
            select(payments)
            .where(payments.c.order_id == order_id)
            .order_by(payments.c.created_at, payments.c.id)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def list_by_orders(self, order_ids: Sequence[str]) -> Sequence[RowMapping]:
        """The payments of several Orders in one round trip (an Order's fields sum them all)."""
        if not order_ids:
            return []
        stmt = select(payments).where(payments.c.order_id.in_(list(order_ids)))
        return (await self._conn.execute(stmt)).mappings().all()

    async def update(self, payment_id: str, values: dict[str, Any]) -> None:
        await self._conn.execute(*_UPDATES.of(payment_id, values))

    async def bump(self, payment_id: str, values: dict[str, Any]) -> RowMapping:
        """Apply `values` and increment the version Salesforce sync compares against; the
        row as it now is."""
        return (await self._conn.execute(*_BUMPS.of(payment_id, values))).mappings().one()

    async def mark_synced(
        self, payment_id: str, *, version: int, at: datetime, error: str | None
    ) -> None:
        """Record a sync of `version` (or its failure). `synced_version` only moves forward:
        a slower worker that wrote an older version never overwrites a newer one's mark."""
        if error is not None:
            await self._conn.execute(
                _MARK_SYNC_FAILED, {"b_id": payment_id, "b_error": self._redact(error)}
            )
            return
        await self.mark_many_synced({payment_id: version}, at=at)

    async def mark_many_synced(self, versions: Mapping[str, int], *, at: datetime) -> None:
        """Record the syncs of a batch ({payment id: version written}) in one round trip:
        the same guarded UPDATE, sent once with every payment's parameters."""
        if not versions:
            return
        params = [
            {"b_id": payment_id, "b_version": version, "b_at": at}
            for payment_id, version in versions.items()
        ]
        await self._conn.execute(_MARK_SYNCED, params)

    # --- the ledger ---------------------------------------------------------------------

    async def insert_action_if_absent(self, values: dict[str, Any]) -> RowMapping | None:
        """Add an action unless its Checkout.com action id is known: the new row, or None."""
        stmt = _INSERT_ACTION.of(self._conn)
        return (await self._conn.execute(stmt, values)).mappings().first()

    async def get_action(self, checkout_action_id: str) -> RowMapping | None:
        stmt = select(payment_actions).where(
            payment_actions.c.checkout_action_id == checkout_action_id
        )
        return (await self._conn.execute(stmt)).mappings().first()

    async def update_action(self, action_row_id: str, values: dict[str, Any]) -> RowMapping:
        """Change an action row; returns it as it now is."""
        result = await self._conn.execute(*_ACTION_UPDATES.of(action_row_id, values))
        return result.mappings().one()

    async def delete_action(self, action_row_id: str) -> None:
        await self._conn.execute(
            delete(payment_actions).where(payment_actions.c.id == action_row_id)
        )

    async def list_actions(self, payment_id: str) -> Sequence[RowMapping]:
        return (await self.actions_of([payment_id])).get(payment_id, [])

    async def actions_of(self, payment_ids: Sequence[str]) -> dict[str, list[RowMapping]]:
        """The ledgers of several payments in one round trip, each in recorded order."""
        result = await self._conn.execute(_ACTIONS_OF, {"payment_ids": list(payment_ids)})
        return group_by(result, "payment_id")
