"""Repositories on both databases: batch reads give each payment its own rows, in order,
and no more than its share of pending logs; the prebuilt UPDATEs refuse unknown columns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import upgrade_to_head
from paybridge.persistence.uow import UnitOfWork, unit_of_work_factory
from tests.conftest import truncate_all

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
async def engine(
    request: pytest.FixtureRequest, pg_url: str, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        built = create_engine(pg_url)
        await truncate_all(built)
    else:
        built = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}")
        await upgrade_to_head(built)
    yield built
    await built.dispose()


def payment(pid: str) -> dict[str, Any]:
    return {
        "id": pid,
        "checkout_payment_id": f"pay_{pid}",
        "currency": "EUR",
        "amount_minor": 1000,
        "status": "Authorized",
        "metadata": {},
        "created_at": T0,
        "updated_at": T0,
    }


def action(pid: str, n: int) -> dict[str, Any]:
    return {
        "id": f"{pid}-a{n}",
        "payment_id": pid,
        "checkout_action_id": f"act_{pid}_{n}",
        "type": "Capture",
        "amount_minor": 100,
        "status": "Approved",
        "source": "webhook",
        "created_at": T0 + timedelta(seconds=n),
        "updated_at": T0 + timedelta(seconds=n),
    }


def log(pid: str, n: int, status: str = "pending") -> dict[str, Any]:
    return {
        "id": f"{pid}-l{n}",
        "payment_id": pid,
        "level": "INFO",
        "operation": "webhook",
        "direction": "inbound",
        "occurred_at": T0 + timedelta(seconds=n),
        "sync_status": status,
    }


async def seed(uow: UnitOfWork) -> None:
    for pid in ("p1", "p2", "p3"):
        await uow.payments.insert_if_absent(payment(pid))
    for n in (3, 1, 2):  # recorded out of order
        await uow.payments.insert_action_if_absent(action("p1", n))
    await uow.payments.insert_action_if_absent(action("p2", 1))
    for n in (4, 1, 3, 2):
        await uow.logs.add(log("p1", n))
    await uow.logs.add(log("p1", 0, status="synced"))
    await uow.logs.add(log("p2", 1))
    disputed: list[tuple[int, str | None]] = [(2, "p2"), (1, "p2"), (3, None)]
    for n, owner in disputed:
        at = T0 + timedelta(seconds=n)
        await uow.disputes.insert_if_absent(
            {
                "id": f"dsp_{n}",
                "payment_id": owner,
                "status": "evidence_required",
                "created_at": at,
                "updated_at": at,
            }
        )


async def test_a_batch_reads_each_payments_own_rows(engine: AsyncEngine) -> None:
    uow = unit_of_work_factory(engine)
    async with uow() as tx:
        await seed(tx)
        await tx.commit()

    async with uow() as tx:
        rows = await tx.payments.get_many(["p1", "p3", "missing"])
        actions = await tx.payments.actions_of(["p1", "p2", "p3"])
        logs = await tx.logs.pending_for_payments(["p1", "p2", "p3"], limit=2)
        disputes = await tx.disputes.of_payments(["p1", "p2"])

    assert sorted(row["id"] for row in rows) == ["p1", "p3"]
    assert [row["id"] for row in actions["p1"]] == ["p1-a1", "p1-a2", "p1-a3"]
    assert [row["id"] for row in actions["p2"]] == ["p2-a1"]
    assert "p3" not in actions
    assert [row["id"] for row in logs["p1"]] == ["p1-l1", "p1-l2"]  # oldest pending, at most 2
    assert [row["id"] for row in logs["p2"]] == ["p2-l1"]
    assert set(logs["p1"][0].keys()) >= {"id", "payment_id", "level", "occurred_at", "summary"}
    assert {pid: [row["id"] for row in rows] for pid, rows in disputes.items()} == {
        "p2": ["dsp_1", "dsp_2"]
    }


async def test_an_update_naming_something_that_is_not_a_column_is_refused(
    engine: AsyncEngine,
) -> None:
    uow = unit_of_work_factory(engine)
    async with uow() as tx:
        await seed(tx)
        with pytest.raises(ValueError, match=r"not columns of payments: \['statuz'\]"):
            await tx.payments.bump("p1", {"statuz": "Captured"})
        with pytest.raises(ValueError, match="not columns of payment_actions"):
            await tx.payments.update_action("p1-a1", {"amount": 5})


async def test_a_batch_of_syncs_is_recorded_per_payment_and_never_moves_one_back(
    engine: AsyncEngine,
) -> None:
    uow = unit_of_work_factory(engine)
    async with uow() as tx:
        await seed(tx)
        older = (await tx.payments.bump("p2", {"status": "Captured"}))["version"]
        newer = (await tx.payments.bump("p2", {"status": "Captured"}))["version"]
        await tx.payments.mark_synced("p2", version=newer, at=T0, error=None)
        await tx.commit()

    later = T0 + timedelta(minutes=1)
    async with uow() as tx:
        # p2: a slower worker finished writing the older version after another wrote the newer.
        await tx.payments.mark_many_synced({"p1": 1, "p2": older, "p3": 1}, at=later)
        await tx.commit()

    async with uow() as tx:
        rows = {row["id"]: row for row in await tx.payments.get_many(["p1", "p2", "p3"])}
    assert (rows["p1"]["synced_version"], rows["p1"]["last_synced_at"]) == (1, later)
    assert (rows["p3"]["synced_version"], rows["p3"]["last_synced_at"]) == (1, later)
    assert (rows["p2"]["synced_version"], rows["p2"]["last_synced_at"]) == (newer, T0)
