"""`paybridge settlement sync --from --to`: one sweep per day, queued or run at once."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from paybridge.cli import main
from paybridge.persistence.engine import create_engine
from paybridge.persistence.tables import outbox
from paybridge.services.settlement import SWEEP_TASK


def test_days_out_of_order_or_too_many_are_refused() -> None:
    runner = CliRunner()
    backwards = runner.invoke(
        main, ["settlement", "sync", "--from", "2026-12-04", "--to", "2026-12-01"]
    )
    assert backwards.exit_code == 2
    assert "--to is before --from" in backwards.output
    too_many = runner.invoke(
        main, ["settlement", "sync", "--from", "2025-01-01", "--to", "2026-12-01"]
    )
    assert too_many.exit_code == 2
    assert "at most 366 days" in too_many.output


def test_queue_stores_one_sweep_task_per_day(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYBRIDGE_DATABASE_URL", pg_url)
    args = ["settlement", "sync", "--from", "2026-11-29", "--to", "2026-12-01", "--queue"]

    result = CliRunner().invoke(main, args)

    assert result.exit_code == 0, result.output
    assert "3 day(s) queued" in result.output

    async def queued() -> list[str]:
        engine = create_engine(pg_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(outbox.c.payload).where(
                        outbox.c.kind == SWEEP_TASK, outbox.c.status == "pending"
                    )
                )
                return sorted(str(row.payload["day"]) for row in rows)
        finally:
            await engine.dispose()

    days = asyncio.run(queued())
    assert {"2026-11-29", "2026-11-30", "2026-12-01"} <= set(days)
