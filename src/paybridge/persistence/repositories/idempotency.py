"""Idempotency key records of our own API (Stripe/Brandur style)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import PerDialect
from paybridge.persistence.row_with_task import RowWithTask
from paybridge.persistence.tables import idempotency_keys

# Every API call that mutates runs these: built once (a reused statement keeps its cache key).
_CLAIM_WITH_TASK = RowWithTask(idempotency_keys, conflict=["key"])
_CLAIM = PerDialect(
    lambda dialect_insert: (
        dialect_insert(idempotency_keys)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(idempotency_keys.c.id)
    )
)
_FINISH = (
    update(idempotency_keys)
    .where(idempotency_keys.c.id == bindparam("b_id"))
    .values(
        response_status=bindparam("b_status"),
        response_body=bindparam("b_body"),
        payment_id=bindparam("b_payment_id"),
        # The request (e-mail, address) was kept only to resume it; the stored response and
        # the fingerprint are all a replay needs.
        request_payload=None,
        recovery_point="finished",
        locked_at=None,
        updated_at=bindparam("b_now"),
    )
)


class IdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        """Claim a new key; False when the key already exists (uniqueness lives in the DB)."""
        return (await self._conn.execute(_CLAIM.of(self._conn), values)).first() is not None

    async def insert_with_task(self, values: dict[str, Any], task: dict[str, Any]) -> bool:
        """Claim a new key and queue `task` (its recovery) with it, in one round trip on
        PostgreSQL; False, and no task, when the key already exists."""
        return await _CLAIM_WITH_TASK.run(self._conn, values, task)

    async def get_by_key(self, key: str) -> RowMapping | None:
        stmt = select(idempotency_keys).where(idempotency_keys.c.key == key)
        return (await self._conn.execute(stmt)).mappings().first()

    async def get(self, record_id: str) -> RowMapping | None:
        stmt = select(idempotency_keys).where(idempotency_keys.c.id == record_id)
        return (await self._conn.execute(stmt)).mappings().first()

    async def take_over_lock(
        self, record_id: str, *, stale_before: datetime, now: datetime
    ) -> bool:
        """Compare-and-set the lock of an unfinished record that nobody holds (or whose
        holder died); True when this caller now holds it."""
        stmt = (
            update(idempotency_keys)
            .where(
                idempotency_keys.c.id == record_id,
                idempotency_keys.c.response_status.is_(None),
                (idempotency_keys.c.locked_at.is_(None))
                | (idempotency_keys.c.locked_at < stale_before),
            )
            .values(locked_at=now, updated_at=now)
        )
        result = await self._conn.execute(stmt)
        return bool(result.rowcount == 1)

    async def set_payload(self, record_id: str, payload: dict[str, Any]) -> None:
        """What to resend to Checkout.com if this request has to be finished later."""
        await self._conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.id == record_id)
            .values(request_payload=payload)
        )

    async def release(self, record_id: str, *, now: datetime) -> None:
        await self._conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.id == record_id)
            .values(locked_at=None, updated_at=now)
        )

    async def finish(
        self,
        record_id: str,
        *,
        status: int,
        body: dict[str, Any],
        payment_id: str | None,
        now: datetime,
    ) -> None:
        params = {
            "b_id": record_id,
            "b_status": status,
            "b_body": body,
            "b_payment_id": payment_id,
            "b_now": now,
        }
        await self._conn.execute(_FINISH, params)

    async def delete_expired(self, *, now: datetime) -> int:
        """Forget keys past retention, finished or not: an unfinished one holds the request
        (e-mail, address), and its recovery (24 h at most) ended long before it expires."""
        stmt = delete(idempotency_keys).where(idempotency_keys.c.expires_at < now)
        result = await self._conn.execute(stmt)
        return int(result.rowcount)
