"""A worker's presence on PostgreSQL: a session advisory lock held while the process lives.

PostgreSQL releases a session's locks when the session ends, a SIGKILLed process included.
So a claimer that can take an owner's presence lock (shared, for its own transaction only)
knows that owner is gone, and takes over its tasks at once instead of waiting out a lease.
SQLite keeps a single worker and needs none of this.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from types import TracebackType
from typing import Self

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_log = structlog.get_logger(__name__)

# The first key of the two-key advisory lock space: paybridge's worker presences ("pbwk").
PRESENCE_SPACE = 0x7062776B
_HOLD = text("SELECT pg_advisory_lock(:space, :key)")
_PROBE = text("SELECT pg_try_advisory_xact_lock_shared(:space, :key)")
_ALIVE = text("SELECT 1")


def presence_key(worker_id: str) -> int:
    """The worker's lock key: a signed 32-bit hash of its id. Two live workers sharing one
    only delays a takeover to the lease's end, never causes one."""
    value = zlib.crc32(worker_id.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


async def gone(conn: AsyncConnection, owners: Iterable[str]) -> list[str]:
    """The `owners` whose presence lock nobody holds: their process is gone. The probes are
    shared and transaction-scoped, so they never block an owner and end with the caller's
    transaction."""
    dead: list[str] = []
    for owner in owners:
        probe = await conn.execute(_PROBE, {"space": PRESENCE_SPACE, "key": presence_key(owner)})
        if probe.scalar_one():
            dead.append(owner)
    return dead


class Presence:
    """Holds `worker_id`'s presence lock on a connection of its own for as long as it is
    entered; `keep()` takes it again should that connection have been lost."""

    def __init__(self, engine: AsyncEngine, worker_id: str) -> None:
        self._engine = engine
        self._key = presence_key(worker_id)
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        await self.keep()
        return self

    async def keep(self) -> None:
        """Make sure the lock is held (a no-op while its session lives)."""
        if self._conn is not None:
            try:
                await self._conn.execute(_ALIVE)
                return
            except Exception:  # noqa: BLE001 — the session is gone: open a new one below
                _log.warning("worker.presence.lost")
                await self._close()
        conn = await self._engine.connect()
        self._conn = conn
        try:
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await self._conn.execute(_HOLD, {"space": PRESENCE_SPACE, "key": self._key})
        except BaseException:
            await self._close()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        """End the session itself (not back to the pool, where the lock would live on)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception:  # noqa: BLE001 — closing a broken session may fail too
                _log.debug("worker.presence.close_failed")
