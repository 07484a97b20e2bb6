"""Builds the async engine for PostgreSQL (asyncpg) or SQLite (aiosqlite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(url: str, *, pool_size: int = 20, pool_timeout_s: float = 5.0) -> AsyncEngine:
    """One engine per process; SQLite gets WAL and a busy timeout so API and worker coexist.

    Bound parameters stay out of error messages (`hide_parameters`): a failed statement's
    text ends up in logs and in stored task errors, and its parameters hold personal data."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        # No overflow: under a burst, opening and closing extra connections per request
        # costs more than waiting for a pooled one (bounded by pool_timeout → 503).
        max_overflow=0,
        pool_timeout=pool_timeout_s,
        # No pre-ping: it costs a round trip per transaction on the hot paths; a connection
        # that died is replaced on its first error, and recycling bounds their age.
        pool_recycle=1800,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # The driver's own implicit BEGIN is off: `_sqlite_begin_immediate` starts transactions.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Any) -> None:
    """SQLite has no `SELECT … FOR UPDATE`: a deferred transaction reads, then writes what it
    folded from a stale read (two webhooks of one payment applied at once: a lost update).
    Taking the write lock at BEGIN serializes transactions, which is what the row lock
    gives on PostgreSQL."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
