"""The outbox: durable background tasks, claimed with a lease and `SKIP LOCKED`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    RowMapping,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from paybridge.persistence.dialect import PerDialect
from paybridge.persistence.tables import outbox
from paybridge.persistence.types import UTCDateTime

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


def _due(*, of_kinds: bool) -> Select[*tuple[Any, ...]]:
    """The ids `claim_due` leases, locked; `of_kinds` filters on an expanding `kinds`."""
    now = bindparam("now", type_=UTCDateTime())
    twin = aliased(outbox)
    twin_running = exists(
        select(twin.c.id).where(twin.c.dedupe_key == outbox.c.dedupe_key, twin.c.status == RUNNING)
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
    if of_kinds:
        candidates = candidates.where(outbox.c.kind.in_(bindparam("kinds", expanding=True)))
    return (
        candidates.order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )


# The statements run for every event and task are built once: a reused statement keeps its
# cache key, where building one per call costs CPU every time.
_ENQUEUE = insert(outbox).returning(outbox.c.id)
# Coalescing into a pending twin must LOCK it until this transaction commits: otherwise a
# worker could claim the twin meanwhile, read the state from before this change and finish,
# and the change would never be handled. `DO UPDATE … WHERE false` locks the conflicting row
# without changing it (DO NOTHING does not lock), and returns no row: not added.
_ENQUEUE_DEDUPED = PerDialect(
    lambda dialect_insert: (
        dialect_insert(outbox)
        .on_conflict_do_update(
            index_elements=["dedupe_key"],
            index_where=text("status = 'pending'"),
            set_={"updated_at": outbox.c.updated_at},
            where=false(),
        )
        .returning(outbox.c.id)
    )
)
_DUE = _due(of_kinds=False)
_DUE_OF_KINDS = _due(of_kinds=True)
_CLAIM = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(
        status=RUNNING,
        locked_until=bindparam("b_locked_until"),
        claimed_by=bindparam("b_worker_id"),
        attempts=outbox.c.attempts + 1,
        updated_at=bindparam("b_now"),
    )
    .returning(*outbox.c)
)
_COMPLETE = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(
        status=DONE,
        done_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        locked_until=None,
        last_error=None,
    )
)

_BRING_FORWARD = (
    update(outbox)
    .where(
        outbox.c.dedupe_key == bindparam("b_key"),
        outbox.c.status == PENDING,
        outbox.c.next_attempt_at > bindparam("b_run_at", type_=UTCDateTime()),
    )
    .values(next_attempt_at=bindparam("b_run_at"), updated_at=bindparam("b_now"))
)


class OutboxRepository:
    def __init__(
        self, conn: AsyncConnection, *, note_due: Callable[[str], None] | None = None
    ) -> None:
        self._conn = conn
        self._note_due = note_due or (lambda _kind: None)

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
        stmt = _ENQUEUE if dedupe_key is None else _ENQUEUE_DEDUPED.of(self._conn)
        added = (await self._conn.execute(stmt, values)).first() is not None
        if values["next_attempt_at"] <= now:
            self._note_due(kind)
        return added

    async def enqueue_or_bring_forward(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        dedupe_key: str,
        run_at: datetime,
        now: datetime,
    ) -> None:
        """Schedule a task for `run_at`; a pending twin due later is moved up to then (one
        due sooner is left as it is)."""
        if not await self.enqueue(kind, payload, now=now, dedupe_key=dedupe_key, run_at=run_at):
            params = {"b_key": dedupe_key, "b_run_at": run_at, "b_now": now}
            await self._conn.execute(_BRING_FORWARD, params)

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
        if kinds is None:
            due = await self._conn.execute(_DUE, {"now": now, "limit": limit})
        else:
            params = {"now": now, "limit": limit, "kinds": list(kinds)}
            due = await self._conn.execute(_DUE_OF_KINDS, params)
        ids = list(due.scalars())
        if not ids:
            return []
        claim = {
            "b_ids": ids,
            "b_locked_until": now + lease,
            "b_worker_id": worker_id,
            "b_now": now,
        }
        rows = (await self._conn.execute(_CLAIM, claim)).mappings().all()
        return sorted(rows, key=lambda row: (row["next_attempt_at"], row["id"]))

    async def complete(self, task_id: int, *, now: datetime) -> None:
        await self.complete_many([task_id], now=now)

    async def complete_many(self, task_ids: Sequence[int], *, now: datetime) -> None:
        if not task_ids:
            return
        await self._conn.execute(_COMPLETE, {"b_ids": list(task_ids), "b_now": now})

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
