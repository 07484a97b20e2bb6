"""Store a row unless its unique key is taken and, only when it was stored, queue its task.

Webhook intake (inbox row + `webhooks.process`) and the API's key claim (key record + its
recovery task) both need this on their hottest path. The statements are SQLAlchemy Core,
built once from the table objects (`tables.py` states the schema; nothing here repeats it)
and reused, so SQLAlchemy compiles each once. On PostgreSQL one statement does both inserts
(a data-modifying CTE: one round trip); SQLite, which has no INSERT inside WITH, runs two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import is_postgres
from paybridge.persistence.tables import outbox


def written_columns(table: Table) -> tuple[str, ...]:
    """The columns an insert states: all but those the database fills (a server default, an
    auto-incremented id). A row to insert must carry every one of them."""
    return tuple(
        column.name
        for column in table.c
        if column.server_default is None
        and not (column.primary_key and column.autoincrement is True)
    )


def _binds(table: Table, columns: Sequence[str], prefix: str) -> dict[str, Any]:
    return {name: bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns}


class RowWithTask:
    """`INSERT INTO <table> … ON CONFLICT (<conflict>) DO NOTHING`, then the outbox task."""

    def __init__(self, table: Table, *, conflict: Sequence[str]) -> None:
        self.table = table
        self.columns = written_columns(table)
        self.task_columns = written_columns(outbox)
        row_values = _binds(table, self.columns, "r_")
        task_values = _binds(outbox, self.task_columns, "t_")
        stored = (
            postgresql.insert(table)
            .values(row_values)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c.id)
            .cte("stored")
        )
        task_row = select(*(value.label(name) for name, value in task_values.items()))
        self.postgresql: Insert = (
            insert(outbox)
            .from_select(list(self.task_columns), task_row.select_from(stored))
            .returning(outbox.c.id)
        )
        self.sqlite_row: Insert = (
            sqlite.insert(table)
            .values(row_values)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c.id)
        )
        self.sqlite_task: Insert = insert(outbox).values(task_values)

    def params(self, row: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
        """The statement's parameters; a KeyError names a column the row or task lacks."""
        return {
            **{f"r_{name}": row[name] for name in self.columns},
            **{f"t_{name}": task[name] for name in self.task_columns},
        }

    async def run(
        self, conn: AsyncConnection, row: Mapping[str, Any], task: Mapping[str, Any]
    ) -> bool:
        """Store `row` and queue `task`; False (and no task) when the unique key was taken."""
        params = self.params(row, task)
        if is_postgres(conn):
            return (await conn.execute(self.postgresql, params)).first() is not None
        if (await conn.execute(self.sqlite_row, params)).first() is None:
            return False
        await conn.execute(self.sqlite_task, params)
        return True
