"""The outbox on PostgreSQL: coalescing, leases, one worker per subject, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from paybridge.container import Container

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def enqueue(container: Container, key: str | None, at: datetime = NOW) -> bool:
    async with container.uow() as uow:
        added = await uow.outbox.enqueue("k", {"n": 1}, now=at, dedupe_key=key)
        await uow.commit()
    return added


async def claim(container: Container, worker: str, at: datetime = NOW) -> list[int]:
    async with container.uow() as uow:
        rows = await uow.outbox.claim_due(now=at, limit=10, lease=LEASE, worker_id=worker)
        await uow.commit()
    return [int(r["id"]) for r in rows]


async def test_pending_tasks_coalesce_by_key(container: Container) -> None:
    assert await enqueue(container, "sync:p1")
    assert not await enqueue(container, "sync:p1")
    assert await enqueue(container, "sync:p2")
    assert await enqueue(container, None)
    assert await enqueue(container, None)

    assert len(await claim(container, "w1")) == 4


async def test_a_running_subject_is_not_claimed_twice(container: Container) -> None:
    await enqueue(container, "sync:p1")
    [first] = await claim(container, "w1")
    assert await enqueue(container, "sync:p1")  # a newer change while the first runs

    assert await claim(container, "w2") == []  # waits for its running twin

    async with container.uow() as uow:
        await uow.outbox.complete(first, now=NOW)
        await uow.commit()
    assert len(await claim(container, "w2")) == 1


async def test_a_dead_workers_lease_lapses(container: Container) -> None:
    await enqueue(container, "sync:p1")
    [task] = await claim(container, "dead")

    assert await claim(container, "w2", NOW + timedelta(seconds=59)) == []
    assert await claim(container, "w2", NOW + timedelta(seconds=61)) == [task]


async def test_retry_superseded_by_a_newer_pending_twin(container: Container) -> None:
    await enqueue(container, "sync:p1")
    [task] = await claim(container, "w1")
    await enqueue(container, "sync:p1")
    async with container.uow() as uow:
        await uow.outbox.retry_later(task, error="boom", run_at=NOW + timedelta(minutes=5), now=NOW)
        counts = await uow.outbox.counts_by_status()
        await uow.commit()
    assert counts == {"done": 1, "pending": 1}


async def test_dead_letters_are_kept_and_can_be_retried(container: Container) -> None:
    await enqueue(container, None)
    [task] = await claim(container, "w1")
    async with container.uow() as uow:
        await uow.outbox.bury(task, error="permanent", now=NOW)
        await uow.commit()
    async with container.uow() as uow:
        assert (await uow.outbox.counts_by_status()) == {"dead": 1}
        assert await uow.outbox.retry_dead(now=NOW) == 1
        await uow.commit()
    assert await claim(container, "w1") == [task]


async def test_a_pending_twin_is_brought_forward_never_pushed_back(container: Container) -> None:
    async def schedule(run_at: datetime) -> None:
        async with container.uow() as uow:
            await uow.outbox.enqueue_or_bring_forward(
                "k", {"n": 1}, dedupe_key="check:p1", run_at=run_at, now=NOW
            )
            await uow.commit()

    await schedule(NOW + timedelta(hours=24))
    await schedule(NOW + timedelta(hours=1))
    await schedule(NOW + timedelta(hours=5))

    async with container.uow() as uow:
        (task,) = await uow.outbox.list_for(status="pending")
    assert task["next_attempt_at"] == NOW + timedelta(hours=1)


async def test_a_task_being_coalesced_into_is_not_claimed_until_that_commits(
    container: Container,
) -> None:
    """A change that coalesces into the pending task must be seen by whoever runs it: if a
    worker could claim the task before the change commits, it would read the old state and
    the change would never be written (the pending task it joined is gone)."""
    assert await enqueue(container, "sync:p1")
    async with container.uow() as change:
        assert not await change.outbox.enqueue("k", {"n": 1}, now=NOW, dedupe_key="sync:p1")

        assert await claim(container, "w1") == []  # held until the change commits

        await change.commit()
    assert len(await claim(container, "w1")) == 1
