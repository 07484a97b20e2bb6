"""Leases on PostgreSQL: a task's outcome is recorded only by the worker that still holds it,
a running worker renews its leases, a gone worker's tasks are taken over at once, and the
dead letters come back without breaking the one-pending-row-per-subject rule."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from paybridge.container import Container
from paybridge.persistence.presence import PRESENCE_SPACE, Presence, presence_key
from paybridge.persistence.uow import UnitOfWork
from paybridge.services.tasks import Done, Outcome, Task
from paybridge.worker.runner import Worker, WorkerConfig
from tests.e2e.processes import eventually

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def enqueue(container: Container, key: str | None, kind: str = "k") -> None:
    async with container.uow() as uow:
        await uow.outbox.enqueue(kind, {"n": 1}, now=NOW, dedupe_key=key)
        await uow.commit()


async def claim(
    container: Container,
    worker: str,
    at: datetime = NOW,
    *,
    take_over: bool = False,
    limit: int = 10,
) -> list[int]:
    async with container.uow() as uow:
        rows = await uow.outbox.claim_due(
            now=at, limit=limit, lease=LEASE, worker_id=worker, take_over=take_over
        )
        await uow.commit()
    return [int(r["id"]) for r in rows]


async def rows(container: Container) -> list[dict[str, Any]]:
    async with container.uow() as uow:
        return [dict(row) for row in await uow.outbox.list_for()]


async def bury(container: Container, task: int) -> None:
    async with container.uow() as uow:
        await uow.outbox.bury(task, error="refused", now=NOW)
        await uow.commit()


# --- dead letters ---------------------------------------------------------------------------


async def test_retry_dead_completes_a_dead_task_whose_subject_has_a_pending_twin(
    container: Container,
) -> None:
    await enqueue(container, "sync:p1")
    [dead] = await claim(container, "w1")
    await bury(container, dead)
    await enqueue(container, "sync:p1")  # a newer change of the same payment
    await enqueue(container, None)
    [other] = [int(r["id"]) for r in await rows(container) if r["dedupe_key"] is None]
    await claim(container, "w1")  # takes both pending rows…
    async with container.uow() as uow:  # …and puts the twin back, buries the other
        twin = next(
            int(r["id"]) for r in await uow.outbox.list_for() if r["id"] not in {dead, other}
        )
        await uow.outbox.release(twin, now=NOW)
        await uow.outbox.bury(other, error="refused", now=NOW)
        await uow.commit()

    async with container.uow() as uow:
        assert await uow.outbox.retry_dead(now=NOW) == 1
        await uow.commit()

    by_id = {int(r["id"]): r for r in await rows(container)}
    assert by_id[dead]["status"] == "done"  # its pending twin does the work
    assert by_id[twin]["status"] == "pending"
    assert (by_id[other]["status"], by_id[other]["attempts"]) == ("pending", 0)


async def test_retry_dead_revives_only_the_newest_of_several_dead_twins(
    container: Container,
) -> None:
    dead: list[int] = []
    for _ in range(3):
        await enqueue(container, "sync:p1")
        [task] = await claim(container, "w1")
        await bury(container, task)
        dead.append(task)

    async with container.uow() as uow:
        assert await uow.outbox.retry_dead(now=NOW) == 1
        await uow.commit()

    by_id = {int(r["id"]): r["status"] for r in await rows(container)}
    assert [by_id[task] for task in dead] == ["done", "done", "pending"]


# --- owners -----------------------------------------------------------------------------------


async def test_only_the_worker_holding_the_lease_records_the_outcome(
    container: Container,
) -> None:
    await enqueue(container, "sync:p1")
    [task] = await claim(container, "slow")
    assert await claim(container, "w2", NOW + LEASE + timedelta(seconds=1)) == [task]

    later = NOW + timedelta(minutes=5)
    async with container.uow() as uow:  # the slow worker finally answers: too late
        await uow.outbox.complete_many([task], now=later, owner="slow")
        await uow.outbox.retry_later(task, error="x", run_at=later, now=later, owner="slow")
        await uow.outbox.bury(task, error="x", now=later, owner="slow")
        await uow.outbox.retry_later(
            task, error="x", run_at=later, now=later, owner="slow", counts=False
        )
        await uow.commit()
    (row,) = await rows(container)
    assert (row["status"], row["claimed_by"], row["attempts"]) == ("running", "w2", 2)

    async with container.uow() as uow:
        await uow.outbox.complete(task, now=later, owner="w2")
        await uow.commit()
    (row,) = await rows(container)
    assert row["status"] == "done"


async def test_a_renewed_lease_is_not_claimed_again(container: Container) -> None:
    await enqueue(container, None)
    [task] = await claim(container, "w1")
    async with container.uow() as uow:
        assert await uow.outbox.renew([task], owner="w1", locked_until=NOW + 2 * LEASE) == 1
        assert await uow.outbox.renew([task], owner="w2", locked_until=NOW + 9 * LEASE) == 0
        await uow.commit()

    assert await claim(container, "w2", NOW + LEASE + timedelta(seconds=1)) == []
    assert await claim(container, "w2", NOW + 2 * LEASE + timedelta(seconds=1)) == [task]


async def test_a_postponed_task_gets_its_attempt_back(container: Container) -> None:
    await enqueue(container, None)
    for _ in range(5):
        [task] = await claim(container, "w1")
        async with container.uow() as uow:
            await uow.outbox.retry_later(
                task, error="away", run_at=NOW, now=NOW, owner="w1", counts=False
            )
            await uow.commit()
    (row,) = await rows(container)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 0, "away")


# --- presence ----------------------------------------------------------------------------------


async def test_a_gone_workers_tasks_are_taken_over_before_their_lease_lapses(
    container: Container,
) -> None:
    await enqueue(container, "sync:p1")
    await enqueue(container, "sync:p2")
    async with Presence(container.engine, "w2"), Presence(container.engine, "w3"):
        async with Presence(container.engine, "w-alive"):
            [alive_task] = await claim(container, "w-alive", limit=1)
            [gone_task] = await claim(container, "w-gone", limit=1)  # never held a presence

            assert await claim(container, "w2", take_over=True) == [gone_task]
            assert await claim(container, "w3", take_over=True) == []  # all owners are alive
        # w-alive's session ended (a SIGKILLed process's does too): its lock went with it.
        assert await claim(container, "w3", take_over=True) == [alive_task]
    by_id = {int(r["id"]): r["claimed_by"] for r in await rows(container)}
    assert by_id == {alive_task: "w3", gone_task: "w2"}


async def test_without_take_over_a_lease_is_waited_out(container: Container) -> None:
    """SQLite, or a worker that holds no presence of its own: the lease decides."""
    await enqueue(container, None)
    [task] = await claim(container, "w-gone")
    assert await claim(container, "w2") == []
    assert await claim(container, "w2", NOW + LEASE + timedelta(seconds=1)) == [task]


async def test_a_killed_sessions_presence_is_released(container: Container) -> None:
    """A process killed with SIGKILL never closes its connection; PostgreSQL ends the
    session when the socket dies — here, the backend is terminated the same way."""
    await enqueue(container, None)
    presence = Presence(container.engine, "w-killed")
    await presence.__aenter__()
    try:
        [task] = await claim(container, "w-killed")
        assert await claim(container, "w2", take_over=True) == []  # alive: nothing to take
        async with container.engine.connect() as conn:
            await conn.execute(
                text(
                    # The timeout form waits until the backend has exited (PostgreSQL
                    # 14+); without it the next claim may run while its locks remain.
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = "
                    "current_database()) AND classid::bigint = :space "
                    "AND objid::bigint = (CAST(:key AS bigint) & 4294967295)"
                ),
                {"space": PRESENCE_SPACE, "key": presence_key("w-killed")},
            )
            await conn.commit()
        assert await claim(container, "w2", take_over=True) == [task]
    finally:
        await presence.__aexit__(None, None, None)


# --- the worker -------------------------------------------------------------------------------


class Gate:
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.open = asyncio.Event()

    async def __call__(self, tasks: Sequence[Task]) -> Mapping[int, Outcome]:
        self.entered.set()
        await self.open.wait()
        return {task.id: Done() for task in tasks}


def gated_worker(container: Container, gate: Gate, *, lease_s: float) -> Worker:
    return Worker(
        uow=container.uow,
        handlers={"k": gate},
        clock=container.clock,
        metrics=container.metrics,
        config=WorkerConfig(lease_s=lease_s),
        worker_id="w1",
    )


async def locked_until(container: Container) -> datetime:
    (row,) = await rows(container)
    value = row["locked_until"]
    assert isinstance(value, datetime)
    return value


async def test_a_running_batch_renews_its_lease(container: Container) -> None:
    async with container.uow() as uow:
        await uow.outbox.enqueue("k", {}, now=container.clock())
        await uow.commit()
    gate = Gate()
    run = asyncio.create_task(gated_worker(container, gate, lease_s=0.3).run_once())
    try:
        await asyncio.wait_for(gate.entered.wait(), 10)
        first = await locked_until(container)

        async def renewed() -> bool:
            return await locked_until(container) > first

        await eventually(renewed, timeout_s=10, what="the lease to be renewed", interval_s=0.05)
    finally:
        gate.open.set()
        await asyncio.wait_for(run, 10)
    (row,) = await rows(container)
    assert row["status"] == "done"


async def test_a_worker_whose_task_was_taken_over_does_not_finish_it(
    container: Container,
) -> None:
    async with container.uow() as uow:
        await uow.outbox.enqueue("k", {}, now=container.clock())
        await uow.commit()
    gate = Gate()
    run = asyncio.create_task(gated_worker(container, gate, lease_s=60).run_once())
    await asyncio.wait_for(gate.entered.wait(), 10)
    async with container.engine.begin() as conn:  # another worker took it over meanwhile
        await conn.execute(text("UPDATE outbox SET claimed_by = 'w2'"))
    gate.open.set()
    await asyncio.wait_for(run, 10)

    (row,) = await rows(container)
    assert (row["status"], row["claimed_by"]) == ("running", "w2")


class FlakyDatabase:
    """The container's units of work, but the next `fail` ones meet a database that is away."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self.fail = 0

    def __call__(self) -> UnitOfWork:
        if self.fail > 0:
            self.fail -= 1
            raise sa_exc.OperationalError("connect", None, ConnectionRefusedError("away"))
        return self._container.uow()


async def test_an_outcome_is_stored_once_the_database_is_back(container: Container) -> None:
    """The database goes away while a task runs: its outcome is recorded when it returns,
    instead of the task running again with one attempt more."""
    async with container.uow() as uow:
        await uow.outbox.enqueue("k", {}, now=container.clock())
        await uow.commit()
    database = FlakyDatabase(container)

    async def handler(tasks: Sequence[Task]) -> Mapping[int, Outcome]:
        database.fail = 3  # away while the outcome is being recorded
        return {task.id: Done() for task in tasks}

    worker = Worker(
        uow=database,
        handlers={"k": handler},
        clock=container.clock,
        metrics=container.metrics,
        config=WorkerConfig(backoff_base_s=0.01),
    )
    assert await worker.run_once() == 1

    (row,) = await rows(container)
    assert (row["status"], row["attempts"]) == ("done", 1)
