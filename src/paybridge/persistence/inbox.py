"""Webhook intake's write: the delivery and its task, stored before the 200.

It is one statement (`STORE_WITH_TASK`: the inbox row and, only when it was new, its task), and
PostgreSQL makes every statement atomic by itself: no unit of work is opened around it, so
no BEGIN and COMMIT either. The statement is compiled once, here, for the engine's dialect
and sent straight to the driver (SQLAlchemy's per-execution work cost a quarter of the
intake's CPU); its binds still go through the column types' own processors. SQLite, which
needs two statements for the same job, runs them in an ordinary unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from paybridge.persistence.doorbell import Doorbell
from paybridge.persistence.repositories.events import STORE_WITH_TASK
from paybridge.persistence.uow import UnitOfWorkFactory


class _Compiled:
    """`STORE_WITH_TASK` as the driver's SQL, with its binds in order and their processors."""

    def __init__(self, engine: AsyncEngine) -> None:
        dialect = engine.dialect
        compiled = STORE_WITH_TASK.postgresql.compile(dialect=dialect)
        self.sql = str(compiled)
        names = compiled.positiontup or []
        self._binds: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [
            params[name] if process is None else process(params[name])
            for name, process in self._binds
        ]


class InboxWriter:
    """Stores verified deliveries with their processing task, and rings the doorbell."""

    def __init__(
        self, engine: AsyncEngine, uow: UnitOfWorkFactory, doorbell: Doorbell | None = None
    ) -> None:
        self._engine = engine
        self._uow = uow
        self._doorbell = doorbell
        self._compiled = _Compiled(engine) if engine.dialect.name == "postgresql" else None

    async def store_with_task(self, row: Mapping[str, Any], task: Mapping[str, Any]) -> bool:
        """Store `row` and queue `task`, durably; False (and no task) for a duplicate."""
        params = STORE_WITH_TASK.params(row, task)
        if self._compiled is None:
            async with self._uow() as uow:
                inserted = await uow.events.insert_with_task(dict(row), dict(task))
                await uow.commit()  # rings the doorbell itself
            return inserted
        async with self._engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            stored = await driver.fetchval(self._compiled.sql, *self._compiled.args(params))
        inserted = stored is not None
        if inserted and self._doorbell is not None:
            self._doorbell.ring([str(task["kind"])])
        return inserted
