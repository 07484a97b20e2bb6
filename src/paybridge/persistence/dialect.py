"""`INSERT … ON CONFLICT` for whichever database the connection speaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Executable, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

# Both dialects' `insert` expose `on_conflict_do_nothing/_update`.
InsertFactory = Callable[[Table], Any]


def upsertable_insert(conn: AsyncConnection, table: Table) -> Any:
    """Return the dialect's `insert` (both expose `on_conflict_do_nothing/_update`)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


class PerDialect:
    """An `INSERT … ON CONFLICT` statement built once for each supported dialect, so a hot
    path reuses it (and its memoized cache key) instead of building one per call.

    `build` receives the dialect's `insert` function, e.g.
    `PerDialect(lambda dialect_insert: dialect_insert(t).on_conflict_do_nothing())`."""

    def __init__(self, build: Callable[[InsertFactory], Executable]) -> None:
        self._postgresql = build(postgresql.insert)
        self._sqlite = build(sqlite.insert)

    def of(self, conn: AsyncConnection) -> Executable:
        """The statement for `conn`'s dialect (like `upsertable_insert`, SQLite otherwise)."""
        return self._postgresql if is_postgres(conn) else self._sqlite
