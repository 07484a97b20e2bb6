"""Actions the Salesforce payment gateway adapter requested, and whether the org was notified."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import upsertable_insert
from paybridge.persistence.tables import gateway_requests


class GatewayRequestRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, values: dict[str, Any]) -> None:
        """Remember a request (a resumed or replayed one is already remembered)."""
        stmt = upsertable_insert(self._conn, gateway_requests).on_conflict_do_nothing(
            index_elements=["idempotency_key_id"]
        )
        await self._conn.execute(stmt, values)

    async def get(self, idempotency_key_id: str) -> RowMapping | None:
        stmt = select(gateway_requests).where(
            gateway_requests.c.idempotency_key_id == idempotency_key_id
        )
        return (await self._conn.execute(stmt)).mappings().first()

    async def mark_notified(
        self, idempotency_key_id: str, *, action_id: str, status: int, at: datetime
    ) -> None:
        stmt = (
            update(gateway_requests)
            .where(gateway_requests.c.idempotency_key_id == idempotency_key_id)
            .values(checkout_action_id=action_id, notified_at=at, notified_status=status)
        )
        await self._conn.execute(stmt)
