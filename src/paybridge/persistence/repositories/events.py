"""The webhook inbox: every verified delivery, raw, deduplicated on (source, event id)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.domain.redaction import Redact, redact_text
from paybridge.persistence.dialect import PerDialect
from paybridge.persistence.row_with_task import RowWithTask
from paybridge.persistence.tables import inbound_events

# The statements of every event are built once (a reused statement keeps its cache key); each
# UPDATE names the columns it sets.
_INSERT = PerDialect(
    lambda dialect_insert: (
        dialect_insert(inbound_events)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(inbound_events.c.id)
    )
)
_GET = select(inbound_events).where(inbound_events.c.id == bindparam("row_id"))
_GET_MANY = select(inbound_events).where(
    inbound_events.c.id.in_(bindparam("row_ids", expanding=True))
)
_MARK = (
    update(inbound_events)
    .where(inbound_events.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        attempts=inbound_events.c.attempts + 1,
    )
)
_MARK_DONE = _MARK.values(handled_at=bindparam("b_at"))


# Webhook intake, the hottest path: inbox row and task in one statement on PostgreSQL.
STORE_WITH_TASK = RowWithTask(inbound_events, conflict=["source", "event_id"])


class InboundEventRepository:
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

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        """Store a delivery; False for a duplicate (the unique key decides, not a lookup)."""
        return (await self._conn.execute(_INSERT.of(self._conn), values)).first() is not None

    async def insert_with_task(self, values: dict[str, Any], task: dict[str, Any]) -> bool:
        """Store a delivery and its outbox task atomically; False (no task) for a duplicate.

        `values` and `task` carry every column the inserts write (`written_columns`)."""
        inserted = await STORE_WITH_TASK.run(self._conn, values, task)
        if inserted:
            self._note_due(str(task["kind"]))
        return inserted

    async def get(self, row_id: str) -> RowMapping | None:
        return (await self._conn.execute(_GET, {"row_id": row_id})).mappings().first()

    async def get_many(self, row_ids: Sequence[str]) -> dict[str, RowMapping]:
        """Several stored events in one round trip (the worker reads a batch), by row id."""
        result = await self._conn.execute(_GET_MANY, {"row_ids": list(row_ids)})
        return {str(row["id"]): row for row in result.mappings()}

    async def get_by_event_id(
        self, event_id: str, *, source: str = "checkout"
    ) -> RowMapping | None:
        stmt = select(inbound_events).where(
            inbound_events.c.source == source, inbound_events.c.event_id == event_id
        )
        return (await self._conn.execute(stmt)).mappings().first()

    async def list_by_subject(self, subject_id: str) -> Sequence[RowMapping]:
        stmt = (
            select(inbound_events)
            .where(inbound_events.c.subject_id == subject_id)
            .order_by(inbound_events.c.received_at)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def list_received_since(
        self, since: datetime, *, types: Sequence[str], source: str = "checkout", limit: int = 100
    ) -> Sequence[RowMapping]:
        """Deliveries of these types stored (so verified) since `since`, newest first."""
        stmt = (
            select(inbound_events)
            .where(
                inbound_events.c.source == source,
                inbound_events.c.received_at >= since,
                inbound_events.c.type.in_(list(types)),
            )
            .order_by(inbound_events.c.received_at.desc())
            .limit(limit)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def list_by_status(self, status: str, *, limit: int = 100) -> Sequence[RowMapping]:
        stmt = (
            select(inbound_events)
            .where(inbound_events.c.status == status)
            .order_by(inbound_events.c.received_at)
            .limit(limit)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def mark(
        self, row_id: str, *, status: str, at: datetime, error: str | None = None
    ) -> None:
        await self.mark_many([(row_id, status, error)], at=at)

    async def mark_many(
        self, marks: Sequence[tuple[str, str, str | None]], *, at: datetime
    ) -> None:
        """Record what became of several events ((row id, status, error) each): one round
        trip per kind of outcome (handled and ignored events also get `handled_at`)."""
        finished: list[dict[str, Any]] = []
        other: list[dict[str, Any]] = []
        for row_id, status, error in marks:
            redacted = self._redact(error) if error is not None else None
            values = {"b_id": row_id, "b_status": status, "b_error": redacted}
            if status in {"handled", "ignored"}:
                finished.append({**values, "b_at": at})
            else:
                other.append(values)
        for statement, params in ((_MARK_DONE, finished), (_MARK, other)):
            if params:
                await self._conn.execute(statement, params)

    async def reopen(self, row_id: str) -> None:
        """Make a stored event processable again (operator replay)."""
        await self._conn.execute(
            update(inbound_events)
            .where(inbound_events.c.id == row_id)
            .values(status="received", handled_at=None, error=None)
        )

    async def prune(self, *, received_before: datetime) -> int:
        """Delete old events that were dealt with; unhandled ones are never pruned."""
        stmt = delete(inbound_events).where(
            inbound_events.c.received_at < received_before,
            inbound_events.c.handled_at.is_not(None),
        )
        result = await self._conn.execute(stmt)
        return int(result.rowcount)
