"""The outbox: durable background tasks, claimed with a lease and `SKIP LOCKED`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, and_, exists, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from paybridge.persistence.dialect import upsertable_insert
from paybridge.persistence.tables import outbox

PENDING = "pending"
RUNNING = "running"
DONE = "done"
DEAD = "dead"


def outbox_row(
    kind: str, payload: dict[str, Any], *, now: datetime, dedupe_key: str | None = None
) -> dict[str, Any]:
    """The values of a new pending task."""
    return {
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


class OutboxRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        now: datetime,
        dedupe_key: str | None = None,
        run_at: datetime | None = None,
    ) -> bool:
        """Add a task; with `dedupe_key`, coalesce into the pending one. True when added."""
        values = outbox_row(kind, payload, now=now, dedupe_key=dedupe_key)
        values["next_attempt_at"] = run_at or now
        stmt = upsertable_insert(self._conn, outbox)
        if dedupe_key is not None:
            stmt = stmt.on_conflict_do_nothing(
                index_elements=["dedupe_key"], index_where=text("status = 'pending'")
            )
        result = await self._conn.execute(stmt.returning(outbox.c.id), values)
        return result.first() is not None

    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        lease: timedelta,
        worker_id: str,
        kinds: Sequence[str] | None = None,
    ) -> Sequence[RowMapping]:
        """Lease up to `limit` due tasks (or ones whose lease lapsed: their worker died).

        A pending task waits while a twin with its dedupe key is running, so two workers
        never work on one subject at once (an older full-state write could land last)."""
        twin = aliased(outbox)
        twin_running = exists(
            select(twin.c.id).where(
                twin.c.dedupe_key == outbox.c.dedupe_key, twin.c.status == RUNNING
            )
        )
        due = or_(
            and_(
                outbox.c.status == PENDING,
                outbox.c.next_attempt_at <= now,
                or_(outbox.c.dedupe_key.is_(None), ~twin_running),
            ),
            and_(outbox.c.status == RUNNING, outbox.c.locked_until < now),
        )
        candidates = select(outbox.c.id).where(due)
        if kinds is not None:
            candidates = candidates.where(outbox.c.kind.in_(list(kinds)))
        candidates = (
            candidates.order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self._conn.execute(candidates)).scalars())
        if not ids:
            return []
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(
                status=RUNNING,
                locked_until=now + lease,
                claimed_by=worker_id,
                attempts=outbox.c.attempts + 1,
                updated_at=now,
            )
            .returning(*outbox.c)
        )
        rows = (await self._conn.execute(stmt)).mappings().all()
        return sorted(rows, key=lambda row: (row["next_attempt_at"], row["id"]))

    async def complete(self, task_id: int, *, now: datetime) -> None:
        await self.complete_many([task_id], now=now)

    async def complete_many(self, task_ids: Sequence[int], *, now: datetime) -> None:
        if not task_ids:
            return
        await self._conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(list(task_ids)))
            .values(status=DONE, done_at=now, updated_at=now, locked_until=None, last_error=None)
        )

    async def retry_later(
        self, task_id: int, *, error: str, run_at: datetime, now: datetime
    ) -> None:
        """Back to pending for another attempt — unless a newer pending twin supersedes it."""
        await self._requeue(
            task_id, now=now, values={"next_attempt_at": run_at, "last_error": error}
        )

    async def release(self, task_id: int, *, now: datetime) -> None:
        """Give a claimed task back untouched (graceful shutdown): the attempt does not count."""
        await self._requeue(
            task_id, now=now, values={"attempts": outbox.c.attempts - 1, "next_attempt_at": now}
        )

    async def bury(self, task_id: int, *, error: str, now: datetime) -> None:
        """Dead-letter: kept and visible, never deleted."""
        await self._conn.execute(
            update(outbox)
            .where(outbox.c.id == task_id)
            .values(status=DEAD, last_error=error, updated_at=now, locked_until=None)
        )

    async def _requeue(self, task_id: int, *, now: datetime, values: dict[str, Any]) -> None:
        twin = aliased(outbox)
        no_pending_twin = ~exists(
            select(twin.c.id).where(
                twin.c.dedupe_key == outbox.c.dedupe_key, twin.c.status == PENDING
            )
        )
        stmt = (
            update(outbox)
            .where(outbox.c.id == task_id, or_(outbox.c.dedupe_key.is_(None), no_pending_twin))
            .values(status=PENDING, locked_until=None, claimed_by=None, updated_at=now, **values)
        )
        result = await self._conn.execute(stmt)
        if result.rowcount == 0:
            await self.complete(task_id, now=now)

    async def postpone_kind(self, kind: str, *, until: datetime, now: datetime) -> None:
        """Hold every pending task of `kind` until `until` (e.g. Salesforce API limit hit)."""
        await self._conn.execute(
            update(outbox)
            .where(
                outbox.c.kind == kind, outbox.c.status == PENDING, outbox.c.next_attempt_at < until
            )
            .values(next_attempt_at=until, updated_at=now)
        )

    async def retry_dead(self, *, now: datetime, kind: str | None = None) -> int:
        stmt = update(outbox).where(outbox.c.status == DEAD)
        if kind is not None:
            stmt = stmt.where(outbox.c.kind == kind)
        result = await self._conn.execute(
            stmt.values(status=PENDING, attempts=0, next_attempt_at=now, updated_at=now)
        )
        return int(result.rowcount)

    async def counts_by_status(self) -> dict[str, int]:
        stmt = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        return {str(status): int(n) for status, n in (await self._conn.execute(stmt)).all()}

    async def list_for(
        self, *, kind: str | None = None, status: str | None = None
    ) -> Sequence[RowMapping]:
        stmt = select(outbox).order_by(outbox.c.id)
        if kind is not None:
            stmt = stmt.where(outbox.c.kind == kind)
        if status is not None:
            stmt = stmt.where(outbox.c.status == status)
        return (await self._conn.execute(stmt)).mappings().all()
