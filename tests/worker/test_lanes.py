"""The worker's claim loops on PostgreSQL: batches in flight per lane, a clean stop, wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import timedelta

import pytest

from paybridge.container import Container
from paybridge.services.tasks import Done, Outcome, Task
from paybridge.worker.runner import LaneLimits, Worker, WorkerConfig

SLOW = "salesforce.slow"


class GatedHandler:
    """Holds every batch until `open` is set; records how many were held at once."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.changed = asyncio.Condition()
        self.held = 0
        self.most_held = 0
        self.ran: list[int] = []
        self.batch_sizes: list[int] = []

    async def __call__(self, tasks: Sequence[Task]) -> Mapping[int, Outcome]:
        self.batch_sizes.append(len(tasks))
        await self._note(held=1)
        try:
            await self.open.wait()
        finally:
            await self._note(held=-1, ran=[task.id for task in tasks])
        return {task.id: Done() for task in tasks}

    async def _note(self, *, held: int, ran: Sequence[int] = ()) -> None:
        async with self.changed:
            self.held += held
            self.most_held = max(self.most_held, self.held)
            self.ran.extend(ran)
            self.changed.notify_all()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(10), self.changed:
            await self.changed.wait_for(condition)


async def enqueue(container: Container, count: int) -> None:
    async with container.uow() as uow:
        for n in range(count):
            await uow.outbox.enqueue(SLOW, {"n": n}, now=container.clock())
        await uow.commit()


def worker(
    container: Container,
    handler: GatedHandler,
    limits: LaneLimits | None = None,
    *,
    poll_interval_s: float = 0.05,
) -> Worker:
    tuned = {"salesforce": limits} if limits else {}
    config = WorkerConfig(poll_interval_s=poll_interval_s, batch_size=1, lane_limits=tuned)
    return Worker(
        uow=container.uow,
        handlers={SLOW: handler},
        clock=container.clock,
        metrics=container.metrics,
        config=config,
        doorbell=container.doorbell,
    )


@contextlib.asynccontextmanager
async def running(
    container: Container, handler: GatedHandler, limits: LaneLimits | None = None
) -> AsyncIterator[Worker]:
    """The worker's loop runs inside the block; leaving it stops the worker and waits."""
    started = worker(container, handler, limits)
    loop = asyncio.create_task(started.run())
    try:
        yield started
    finally:
        started.stop()
        handler.open.set()
        await asyncio.wait_for(loop, 10)


async def statuses(container: Container) -> dict[str, int]:
    async with container.uow() as uow:
        return await uow.outbox.counts_by_status()


async def test_a_lane_runs_its_batches_side_by_side(container: Container) -> None:
    handler = GatedHandler()
    await enqueue(container, 3)
    async with running(container, handler, LaneLimits(batch_size=1, in_flight=3)):
        await handler.wait_until(lambda: handler.held == 3)
        handler.open.set()
        await handler.wait_until(lambda: len(handler.ran) == 3)

    assert handler.most_held == 3
    assert await statuses(container) == {"done": 3}


async def test_one_batch_at_a_time_unless_configured(container: Container) -> None:
    handler = GatedHandler()
    await enqueue(container, 3)
    async with running(container, handler):
        await handler.wait_until(lambda: handler.held == 1)
        await asyncio.sleep(0.3)  # several poll intervals: nothing else is claimed meanwhile
        assert (await statuses(container)) == {"running": 1, "pending": 2}
        handler.open.set()
        await handler.wait_until(lambda: len(handler.ran) == 3)

    assert handler.most_held == 1


async def test_stop_finishes_the_batches_in_hand(container: Container) -> None:
    handler = GatedHandler()
    await enqueue(container, 2)
    started = worker(container, handler, LaneLimits(batch_size=1, in_flight=2))
    loop = asyncio.create_task(started.run())
    await handler.wait_until(lambda: handler.held == 2)

    started.stop()
    await asyncio.sleep(0.2)
    assert not loop.done()  # still finishing what it holds
    handler.open.set()
    await asyncio.wait_for(loop, 10)

    assert await statuses(container) == {"done": 2}


async def test_a_lane_claims_its_own_batch_size_and_full_batches_never_linger(
    container: Container,
) -> None:
    handler = GatedHandler()
    handler.open.set()
    await enqueue(container, 5)
    async with running(container, handler, LaneLimits(batch_size=2, in_flight=2, linger_s=30)):
        await handler.wait_until(lambda: len(handler.ran) == 5)

    assert handler.batch_sizes == [2, 2, 1]


async def test_after_a_batch_that_was_not_full_the_lane_lingers(container: Container) -> None:
    handler = GatedHandler()
    await enqueue(container, 1)
    async with running(container, handler, LaneLimits(batch_size=10, in_flight=2, linger_s=30)):
        await handler.wait_until(lambda: handler.held == 1)
        await enqueue(container, 3)
        await asyncio.sleep(0.3)  # many poll intervals, a free slot: still lingering
        assert await statuses(container) == {"running": 1, "pending": 3}
    # Stopping woke the lane from its linger and claimed nothing more.

    assert handler.batch_sizes == [1]


async def test_an_idle_lane_wakes_when_this_process_stores_a_task_for_it(
    container: Container,
) -> None:
    handler = GatedHandler()
    handler.open.set()
    started = worker(container, handler, poll_interval_s=3600)  # it would not poll again
    loop = asyncio.create_task(started.run())
    try:
        await asyncio.sleep(0.2)  # claimed nothing: idle until the bell
        await enqueue(container, 1)
        await handler.wait_until(lambda: len(handler.ran) == 1)

        async with container.uow() as uow:  # due in an hour: no bell
            await uow.outbox.enqueue(
                SLOW, {}, now=container.clock(), run_at=container.clock() + timedelta(hours=1)
            )
            await uow.commit()
        await asyncio.sleep(0.2)
        assert len(handler.ran) == 1
    finally:
        started.stop()
        await asyncio.wait_for(loop, 10)


def test_a_lane_with_traffic_flowing_waits_about_as_long_as_a_batch_takes_to_fill() -> None:
    """The next batch should carry that traffic in the same one API call; a trickle keeps
    the short linger, a full batch claims again at once, and the wait is bounded."""
    limits = LaneLimits(batch_size=200, linger_s=0.2, busy_linger_s=1.0, busy_from=20)

    assert limits.pause_after(1, gathered_s=5.0) == 0.2
    assert limits.pause_after(19, gathered_s=5.0) == 0.2
    assert limits.pause_after(50, gathered_s=0.1) == pytest.approx(0.3)  # 500/s: 150 in 0.3 s
    assert limits.pause_after(40, gathered_s=0.2) == pytest.approx(0.8)  # 200/s: 160 in 0.8 s
    assert limits.pause_after(20, gathered_s=0.5) == 1.0  # slower than a batch a second
    assert limits.pause_after(190, gathered_s=0.1) == 0.2  # about full: the usual linger
    assert limits.pause_after(200, gathered_s=0.5) == 0.0
    assert LaneLimits(batch_size=200, linger_s=0.2).pause_after(150, gathered_s=9.0) == 0.2
