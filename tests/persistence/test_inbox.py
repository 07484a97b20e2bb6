"""The hot inserts that queue a task with their row (webhook intake, the API's key claim):
one transaction like any other, and statements that follow the schema."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from paybridge.container import Container
from paybridge.persistence.doorbell import Doorbell
from paybridge.persistence.inbox import InboxWriter
from paybridge.persistence.repositories.events import STORE_WITH_TASK
from paybridge.persistence.repositories.idempotency import _CLAIM_WITH_TASK
from paybridge.persistence.repositories.outbox import outbox_row
from paybridge.persistence.row_with_task import RowWithTask

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DELIVERY = {
    "id": "evt-row-1",
    "source": "checkout",
    "event_id": "evt_1",
    "type": "payment_approved",
    "subject_id": "pay_1",
    "raw_body": b"{}",
    "signature_verified": True,
    "status": "received",
    "error": None,
    "occurred_at": NOW,
    "received_at": NOW,
    "handled_at": None,
}
TASK = outbox_row("webhooks.process", {"event_row_id": "evt-row-1"}, now=NOW)
_INSERT_COLUMNS = re.compile(r"INSERT INTO (\w+) \(([^)]*)\)")


async def test_a_delivery_and_its_task_are_stored_once(container: Container) -> None:
    async with container.uow() as uow:
        assert await uow.events.insert_with_task(DELIVERY, TASK)
        assert not await uow.events.insert_with_task(DELIVERY, TASK)  # the same delivery
        await uow.commit()
    async with container.uow() as uow:
        assert (await uow.outbox.counts_by_status()) == {"pending": 1}
        stored = await uow.events.get("evt-row-1")
    assert stored is not None
    assert (stored["status"], stored["attempts"], bytes(stored["raw_body"])) == (
        "received",
        0,
        b"{}",
    )


async def test_the_intake_statement_is_undone_with_its_transaction(container: Container) -> None:
    """It runs inside the unit of work's transaction like every other statement."""
    async with container.uow() as uow:
        assert await uow.events.insert_with_task(DELIVERY, TASK)
        # no commit: the unit of work rolls back
    async with container.uow() as uow:
        assert await uow.events.get("evt-row-1") is None
        assert (await uow.outbox.counts_by_status()) == {}


@pytest.mark.parametrize("statement", [STORE_WITH_TASK, _CLAIM_WITH_TASK], ids=["intake", "claim"])
async def test_the_statements_write_every_column_the_database_does_not_fill(
    container: Container, statement: RowWithTask
) -> None:
    """Against the schema Alembic built: a column added, renamed or dropped there (and in
    `tables.py`) that the statements did not follow fails here."""
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND column_default IS NULL"
                " AND is_identity = 'NO' AND table_name IN (:row_table, 'outbox')"
            ),
            {"row_table": statement.table.name},
        )
        expected: dict[str, set[str]] = {}
        for table, column in rows:
            expected.setdefault(table, set()).add(column)
    on_postgresql = [str(statement.postgresql.compile(dialect=container.engine.dialect))]
    on_sqlite = [
        str(stmt.compile(dialect=sqlite.dialect()))
        for stmt in (statement.sqlite_row, statement.sqlite_task)
    ]
    for compiled in (on_postgresql, on_sqlite):
        written: dict[str, set[str]] = {}
        for sql in compiled:
            for table, columns in _INSERT_COLUMNS.findall(sql):
                written.setdefault(table, set()).update(c.strip(' "') for c in columns.split(","))
        assert written == expected


def test_a_row_missing_a_column_the_statement_writes_is_refused() -> None:
    incomplete = {k: v for k, v in DELIVERY.items() if k != "subject_id"}
    with pytest.raises(KeyError, match="subject_id"):
        STORE_WITH_TASK.params(incomplete, TASK)


async def test_intake_stores_a_delivery_with_its_task_outside_a_unit_of_work(
    container: Container,
) -> None:
    """The compiled statement on the driver: column types still process the binds (JSON
    payload, UTC timestamps), a duplicate stores nothing, and a stored task rings once."""
    bell = Doorbell()
    rung: list[frozenset[str]] = []
    bell.listen(rung.append)
    inbox = InboxWriter(container.engine, container.uow, bell)
    assert await inbox.store_with_task(DELIVERY, TASK)
    assert not await inbox.store_with_task(DELIVERY, TASK)
    assert rung == [frozenset({"webhooks.process"})]
    async with container.uow() as uow:
        stored = await uow.events.get("evt-row-1")
        tasks = await uow.outbox.counts_by_status()
        claimed = await uow.outbox.claim_due(
            now=NOW, limit=1, lease=timedelta(seconds=5), worker_id="w"
        )
    assert stored is not None
    assert stored["received_at"] == NOW
    assert tasks == {"pending": 1}
    assert [row["payload"] for row in claimed] == [{"event_row_id": "evt-row-1"}]
