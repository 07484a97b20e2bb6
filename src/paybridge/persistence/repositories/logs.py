"""Integration log records (mirrored to Salesforce by the sync worker)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.tables import integration_logs


class IntegrationLogRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, values: dict[str, Any]) -> None:
        await self._conn.execute(insert(integration_logs).values(**values))

    async def list_for_payment(self, payment_id: str) -> Sequence[RowMapping]:
        stmt = (
            select(integration_logs)
            .where(integration_logs.c.payment_id == payment_id)
            .order_by(integration_logs.c.occurred_at)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def pending(self, *, limit: int) -> Sequence[RowMapping]:
        stmt = (
            select(integration_logs)
            .where(integration_logs.c.sync_status == "pending")
            .order_by(integration_logs.c.occurred_at)
            .limit(limit)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def mark(self, log_ids: Sequence[str], *, status: str, at: datetime) -> None:
        if not log_ids:
            return
        await self._conn.execute(
            update(integration_logs)
            .where(integration_logs.c.id.in_(list(log_ids)))
            .values(sync_status=status, synced_at=at)
        )
