"""`INSERT … ON CONFLICT` for whichever database the connection speaks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def upsertable_insert(conn: AsyncConnection, table: Table) -> Any:
    """Return the dialect's `insert` (both expose `on_conflict_do_nothing/_update`)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"
