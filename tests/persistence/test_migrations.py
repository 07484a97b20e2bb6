"""Alembic is the only schema source: the migrated database must equal the table models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import database_revision, head_revision, upgrade_to_head
from paybridge.persistence.tables import metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_models_and_migrations_agree_on_postgres(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        assert await database_revision(engine) == head_revision()
    finally:
        await engine.dispose()
    assert diff == []


async def test_migrations_run_on_sqlite(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/pb.db")
    try:
        await upgrade_to_head(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
        assert await database_revision(engine) == head_revision()
    finally:
        await engine.dispose()
    assert diff == []
