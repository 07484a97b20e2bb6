"""The outbox: durable background tasks, claimed with a lease and `SKIP LOCKED`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
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
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from paybridge.domain.redaction import Redact, redact_text
from paybridge.persistence.dialect import PerDialect
from paybridge.persistence.presence import gone
from paybridge.persistence.tables import outbox
from paybridge.persistence.types import UTCDateTime

_log = structlog.get_logger(__name__)

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
        "locked_until": None,
        "claimed_by": None,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
        "done_at": None,
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
# The partial unique index a deduplicated task conflicts on, as `tables.py` states it.
_PENDING_DEDUPE_KEY = next(i for i in outbox.indexes if i.name == "uq_outbox_pending_dedupe_key")
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
            index_where=_PENDING_DEDUPE_KEY.dialect_options["postgresql"]["where"],
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
# The same, only for rows still leased to `b_owner`: a worker whose lease was taken over
# (it stalled, or was thought dead) must not finish what another worker now runs.
_COMPLETE_MINE = _COMPLETE.where(
    outbox.c.claimed_by == bindparam("b_owner"), outbox.c.status == RUNNING
)
_RENEW = (
    update(outbox)
    .where(
        outbox.c.id.in_(bindparam("b_ids", expanding=True)),
        outbox.c.claimed_by == bindparam("b_owner"),
        outbox.c.status == RUNNING,
    )
    .values(locked_until=bindparam("b_locked_until"))
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
        self,
        conn: AsyncConnection,
        *,
        note_due: Callable[[str], None] | None = None,
        redact: Redact = redact_text,
    ) -> None:
        self._conn = conn
        self._note_due = note_due or (lambda _kind: None)
        self._redact = redact

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
        take_over: bool = False,
    ) -> Sequence[RowMapping]:
        """Lease up to `limit` due tasks (or ones whose lease lapsed: their worker died).

        A pending task waits while a twin with its dedupe key is running, so two workers
        never work on one subject at once (an older full-state write could land last).
        `take_over` (PostgreSQL, workers that hold their presence lock): the tasks of an
        owner whose process is gone are due at once, not when their lease lapses."""
        if take_over:
            await self._lapse_leases_of_gone_owners(now=now, worker_id=worker_id)
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

    async def _lapse_leases_of_gone_owners(self, *, now: datetime, worker_id: str) -> None:
        owners = await self._conn.execute(
            select(outbox.c.claimed_by)
            .distinct()
            .where(
                outbox.c.status == RUNNING,
                outbox.c.locked_until >= now,
                outbox.c.claimed_by.is_not(None),
                outbox.c.claimed_by != worker_id,
            )
        )
        dead = await gone(self._conn, [str(owner) for owner in owners.scalars()])
        if dead:
            await self._conn.execute(
                update(outbox)
                .where(outbox.c.status == RUNNING, outbox.c.claimed_by.in_(dead))
                .values(locked_until=now - timedelta(seconds=1))
            )
            _log.warning("worker.owner.gone", owners=dead)

    async def complete(self, task_id: int, *, now: datetime, owner: str | None = None) -> None:
        await self.complete_many([task_id], now=now, owner=owner)

    async def complete_many(
        self, task_ids: Sequence[int], *, now: datetime, owner: str | None = None
    ) -> None:
        """Mark done; with `owner`, only the rows still leased to it."""
        if not task_ids:
            return
        params: dict[str, Any] = {"b_ids": list(task_ids), "b_now": now}
        if owner is None:
            await self._conn.execute(_COMPLETE, params)
        else:
            await self._conn.execute(_COMPLETE_MINE, {**params, "b_owner": owner})

    async def renew(self, task_ids: Sequence[int], *, owner: str, locked_until: datetime) -> int:
        """Extend the lease of the rows still leased to `owner` (the worker's heartbeat);
        returns how many it still holds."""
        if not task_ids:
            return 0
        params = {"b_ids": list(task_ids), "b_owner": owner, "b_locked_until": locked_until}
        return int((await self._conn.execute(_RENEW, params)).rowcount)

    async def retry_later(
        self,
        task_id: int,
        *,
        error: str,
        run_at: datetime,
        now: datetime,
        owner: str | None = None,
        counts: bool = True,
    ) -> None:
        """Back to pending for another attempt — unless a newer pending twin supersedes it.
        `counts=False` (an outage, not the task's failure) gives the claim's attempt back, so
        an outage of any length never brings a task closer to the dead letters."""
        values: dict[str, Any] = {"next_attempt_at": run_at, "last_error": self._redact(error)}
        if not counts:
            values["attempts"] = outbox.c.attempts - 1
        await self._requeue(task_id, now=now, owner=owner, values=values)

    async def release(self, task_id: int, *, now: datetime, owner: str | None = None) -> None:
        """Give a claimed task back untouched (graceful shutdown): the attempt does not count."""
        await self._requeue(
            task_id,
            now=now,
            owner=owner,
            values={"attempts": outbox.c.attempts - 1, "next_attempt_at": now},
        )

    async def bury(
        self, task_id: int, *, error: str, now: datetime, owner: str | None = None
    ) -> None:
        """Dead-letter: kept and visible, never deleted."""
        stmt = update(outbox).where(outbox.c.id == task_id)
        if owner is not None:
            stmt = stmt.where(outbox.c.claimed_by == owner, outbox.c.status == RUNNING)
        await self._conn.execute(
            stmt.values(
                status=DEAD, last_error=self._redact(error), updated_at=now, locked_until=None
            )
        )

    async def _requeue(
        self, task_id: int, *, now: datetime, values: dict[str, Any], owner: str | None = None
    ) -> None:
        twin = aliased(outbox)
        no_pending_twin = ~exists(
            select(twin.c.id).where(
                twin.c.dedupe_key == outbox.c.dedupe_key, twin.c.status == PENDING
            )
        )
        stmt = update(outbox).where(
            outbox.c.id == task_id, or_(outbox.c.dedupe_key.is_(None), no_pending_twin)
        )
        if owner is not None:
            stmt = stmt.where(outbox.c.claimed_by == owner, outbox.c.status == RUNNING)
        stmt = stmt.values(
            status=PENDING, locked_until=None, claimed_by=None, updated_at=now, **values
        )
        result = await self._conn.execute(stmt)
        if result.rowcount == 0:
            await self.complete(task_id, now=now, owner=owner)

    async def postpone_kinds(self, kinds: Sequence[str], *, until: datetime, now: datetime) -> None:
        """Hold every pending task of `kinds` until `until`: their provider is away."""
        await self._conn.execute(
            update(outbox)
            .where(
                outbox.c.kind.in_(list(kinds)),
                outbox.c.status == PENDING,
                outbox.c.next_attempt_at < until,
            )
            .values(next_attempt_at=until, updated_at=now)
        )

    async def retry_dead(self, *, now: datetime, kind: str | None = None) -> int:
        """Give dead-lettered tasks a new round of attempts; returns how many.

        At most one row per dedupe key may be pending: a dead task whose subject already has
        a pending twin (or a newer dead one) is completed instead, the twin doing its work."""
        twin = aliased(outbox)
        superseded = exists(
            select(twin.c.id).where(
                twin.c.dedupe_key == outbox.c.dedupe_key,
                or_(twin.c.status == PENDING, and_(twin.c.status == DEAD, twin.c.id > outbox.c.id)),
            )
        )
        dead = [outbox.c.status == DEAD] + ([outbox.c.kind == kind] if kind is not None else [])
        await self._conn.execute(
            update(outbox)
            .where(*dead, outbox.c.dedupe_key.is_not(None), superseded)
            .values(status=DONE, done_at=now, updated_at=now)
        )
        result = await self._conn.execute(
            update(outbox)
            .where(*dead)
            .values(status=PENDING, attempts=0, next_attempt_at=now, updated_at=now)
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
