"""Idempotency key records of our own API (Stripe/Brandur style)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import upsertable_insert
from paybridge.persistence.tables import idempotency_keys


class IdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        """Claim a new key; False when the key already exists (uniqueness lives in the DB)."""
        stmt = (
            upsertable_insert(self._conn, idempotency_keys)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(idempotency_keys.c.id)
        )
        return (await self._conn.execute(stmt, values)).first() is not None

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
        await self._conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.id == record_id)
            .values(
                response_status=status,
                response_body=body,
                payment_id=payment_id,
                # The request (e-mail, address) was kept only to resume it; the stored
                # response and the fingerprint are all a replay needs.
                request_payload=None,
                recovery_point="finished",
                locked_at=None,
                updated_at=now,
            )
        )

    async def delete_expired(self, *, now: datetime) -> int:
        """Forget keys past retention, finished or not: an unfinished one holds the request
        (e-mail, address), and its recovery (24 h at most) ended long before it expires."""
        stmt = delete(idempotency_keys).where(idempotency_keys.c.expires_at < now)
        result = await self._conn.execute(stmt)
        return int(result.rowcount)
