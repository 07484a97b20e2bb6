"""Read-only figures about work that is waiting or stuck, for the metrics and the alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.repositories.outbox import DEAD, PENDING, RUNNING
from paybridge.persistence.tables import integration_logs, outbox, payments


class BacklogRepository:
    """Aggregates over the outbox, payments and logs; writes nothing."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def waiting_by_kind(self) -> dict[str, tuple[datetime, int]]:
        """Per task kind, of the tasks not yet done (pending or running): when the oldest was
        stored, and how many there are."""
        stmt = (
            select(outbox.c.kind, func.min(outbox.c.created_at), func.count())
            .where(outbox.c.status.in_((PENDING, RUNNING)))
            .group_by(outbox.c.kind)
        )
        rows = (await self._conn.execute(stmt)).all()
        return {str(kind): (oldest, int(n)) for kind, oldest, n in rows}

    async def dead_by_kind(self) -> dict[str, int]:
        stmt = (
            select(outbox.c.kind, func.count())
            .where(outbox.c.status == DEAD)
            .group_by(outbox.c.kind)
        )
        return {str(kind): int(n) for kind, n in (await self._conn.execute(stmt)).all()}

    async def parked_syncs(self) -> int:
        """Payments whose last Salesforce write was refused and not yet superseded."""
        stmt = select(func.count()).where(payments.c.last_sync_error.is_not(None))
        return int((await self._conn.execute(stmt)).scalar_one())

    async def logs_with_error_since(self, error_code: str, *, since: datetime) -> int:
        stmt = select(func.count()).where(
            integration_logs.c.error_code == error_code, integration_logs.c.occurred_at >= since
        )
        return int((await self._conn.execute(stmt)).scalar_one())
