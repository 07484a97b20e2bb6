"""The worker loop: lease due tasks (`FOR UPDATE SKIP LOCKED`), run them, record outcomes.

Several worker processes may share one PostgreSQL database: a task is leased to one of
them; a worker that dies leaves its lease to lapse and the task is claimed again. Attempts
back off exponentially with jitter and end in the dead-letter state, never in deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from paybridge.domain.clock import Clock
from paybridge.metrics import Metrics
from paybridge.persistence.doorbell import Doorbell
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.tasks import BatchHandler, Dead, Done, Outcome, Postpone, Retry, Task

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LaneLimits:
    """How one lane claims: tasks per batch, and batches run at once."""

    batch_size: int
    in_flight: int = 1
    # After a batch that was not full, wait this long before claiming again: batches side
    # by side would otherwise each carry a few tasks, and cost an API call each.
    linger_s: float = 0.0


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    poll_interval_s: float = 0.5
    batch_size: int = 50
    lease_s: float = 60.0
    max_attempts: int = 12
    backoff_base_s: float = 1.0
    backoff_max_s: float = 600.0
    # One claim loop per task family; off on SQLite, a single writer where more loops would
    # only contend for its one write lock.
    lanes: bool = True
    # Lanes that claim otherwise than `batch_size`, one batch at a time. A lane that mostly
    # waits on a remote API (Salesforce) claims its next batch while the last is answered.
    lane_limits: Mapping[str, LaneLimits] = field(default_factory=dict)

    def limits(self, lane: str) -> LaneLimits:
        return self.lane_limits.get(lane, LaneLimits(batch_size=self.batch_size))


def backoff_s(attempts: int, *, base_s: float, max_s: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(max, base·2^(attempts-1))]."""
    ceiling = min(max_s, base_s * (2 ** max(attempts - 1, 0)))
    return rng.uniform(ceiling / 2, ceiling)


class Worker:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        handlers: Mapping[str, BatchHandler],
        clock: Clock,
        metrics: Metrics,
        config: WorkerConfig,
        worker_id: str | None = None,
        rng: random.Random | None = None,
        doorbell: Doorbell | None = None,
    ) -> None:
        self._uow = uow
        self._handlers = handlers
        self._clock = clock
        self._metrics = metrics
        self._config = config
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._rng = rng or random.Random()  # noqa: S311 — jitter, not security
        self._doorbell = doorbell
        self._stopping = asyncio.Event()
        self._lane_of = {kind: self._lane_name(kind) for kind in handlers}
        self._wake = {lane: asyncio.Event() for lane in self._lane_of.values()}

    def stop(self) -> None:
        """Finish the batch in hand, claim nothing more."""
        self._stopping.set()
        for wake in self._wake.values():
            wake.set()

    async def run(self) -> None:
        """One claim loop per lane (the kinds' family: `webhooks`, `salesforce`, …), so slow
        Salesforce writes never hold up webhook processing, and each lane batches its own.
        An idle lane polls, and wakes early when this process stores a task it runs."""
        lanes: dict[str, list[str]] = defaultdict(list)
        for kind, lane in self._lane_of.items():
            lanes[lane].append(kind)
        _log.info("worker.started", worker_id=self.worker_id, lanes=dict(lanes))
        stop_listening = self._doorbell.listen(self._on_bell) if self._doorbell else None
        try:
            async with asyncio.TaskGroup() as group:
                for lane, kinds in lanes.items():
                    group.create_task(self._lane(kinds, self._config.limits(lane)))
        finally:
            if stop_listening is not None:
                stop_listening()
        _log.info("worker.stopped", worker_id=self.worker_id)

    def _lane_name(self, kind: str) -> str:
        return kind.split(".", 1)[0] if self._config.lanes else "all"

    def _on_bell(self, kinds: frozenset[str]) -> None:
        for kind in kinds:
            lane = self._lane_of.get(kind)
            if lane is not None:
                self._wake[lane].set()

    async def _lane(self, kinds: Sequence[str], limits: LaneLimits) -> None:
        """Claim and run batches of `kinds`, up to `limits.in_flight` at once; on stop, the
        batches in hand are finished before this returns."""
        wake = self._wake[self._lane_of[kinds[0]]]
        slots = asyncio.Semaphore(max(limits.in_flight, 1))
        async with asyncio.TaskGroup() as running:
            while not self._stopping.is_set():
                await slots.acquire()
                try:
                    tasks = await self._claim(kinds, limit=limits.batch_size)
                except Exception:  # noqa: BLE001 — a database outage must not kill the loop
                    _log.exception("worker.cycle.failed", kinds=list(kinds))
                    tasks = []
                if tasks:
                    running.create_task(self._run_in_slot(tasks, slots))
                    if len(tasks) < limits.batch_size:
                        await self._pause(limits.linger_s)
                    continue
                slots.release()
                await self._idle(wake)

    async def _idle(self, wake: asyncio.Event) -> None:
        """Nothing due: wait for the next poll, a bell for this lane, or stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=self._config.poll_interval_s)
        wake.clear()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when asked to stop."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _run_in_slot(self, tasks: Sequence[Task], slots: asyncio.Semaphore) -> None:
        try:
            await self._run_claimed(tasks)
        except Exception:  # noqa: BLE001 — the tasks' leases lapse and they are claimed again
            _log.exception("worker.cycle.failed", kinds=sorted({task.kind for task in tasks}))
        finally:
            slots.release()

    async def run_once(self, kinds: Sequence[str] | None = None) -> int:
        """Claim one batch (of `kinds`, default all) and run it; returns how many ran."""
        tasks = await self._claim(kinds, limit=self._config.batch_size)
        await self._run_claimed(tasks)
        return len(tasks)

    async def _run_claimed(self, tasks: Sequence[Task]) -> None:
        by_kind: dict[str, list[Task]] = defaultdict(list)
        for task in tasks:
            by_kind[task.kind].append(task)
        for kind, group in by_kind.items():
            outcomes = await self._run_group(kind, group)
            await self._record(group, outcomes)

    async def drain(self, *, max_cycles: int = 1000) -> int:
        """Run until nothing is due (tests, CLI one-shots); returns tasks run."""
        total = 0
        for _ in range(max_cycles):
            ran = await self.run_once()
            if ran == 0:
                return total
            total += ran
        return total

    async def _claim(self, kinds: Sequence[str] | None, *, limit: int) -> list[Task]:
        async with self._uow() as uow:
            rows = await uow.outbox.claim_due(
                now=self._clock(),
                limit=limit,
                lease=timedelta(seconds=self._config.lease_s),
                worker_id=self.worker_id,
                kinds=list(kinds if kinds is not None else self._handlers),
            )
            await uow.commit()
        return [
            Task(
                id=int(r["id"]), kind=r["kind"], payload=dict(r["payload"]), attempts=r["attempts"]
            )
            for r in rows
        ]

    async def _run_group(self, kind: str, group: Sequence[Task]) -> Mapping[int, Outcome]:
        handler = self._handlers[kind]
        try:
            return await handler(group)
        except Exception as exc:  # noqa: BLE001 — every task of the batch is retried
            _log.exception("worker.handler.failed", kind=kind)
            return {task.id: Retry(f"{type(exc).__name__}: {exc}"[:2000]) for task in group}

    async def _record(self, group: Sequence[Task], outcomes: Mapping[int, Outcome]) -> None:
        now = self._clock()
        config = self._config
        async with self._uow() as uow:
            done: list[int] = []
            for task in group:
                outcome = outcomes.get(task.id, Retry("handler gave no outcome"))
                self._metrics.tasks.labels(task.kind, type(outcome).__name__.lower()).inc()
                if isinstance(outcome, Done):
                    done.append(task.id)
                elif isinstance(outcome, Postpone):
                    await uow.outbox.retry_later(
                        task.id, error=outcome.error, run_at=outcome.until, now=now
                    )
                    await uow.outbox.postpone_kind(task.kind, until=outcome.until, now=now)
                elif isinstance(outcome, Dead) or task.attempts >= config.max_attempts:
                    error = outcome.error
                    await uow.outbox.bury(task.id, error=error, now=now)
                    _log.error("worker.task.dead", kind=task.kind, task_id=task.id, error=error)
                else:
                    delay = backoff_s(
                        task.attempts,
                        base_s=config.backoff_base_s,
                        max_s=config.backoff_max_s,
                        rng=self._rng,
                    )
                    await uow.outbox.retry_later(
                        task.id,
                        error=outcome.error,
                        run_at=now + timedelta(seconds=delay),
                        now=now,
                    )
                    _log.warning(
                        "worker.task.retry", kind=task.kind, task_id=task.id, error=outcome.error
                    )
            await uow.outbox.complete_many(done, now=now)
            await uow.commit()

    async def release_claimed(self) -> None:
        """On shutdown: give back what this worker leased but did not start."""
        async with self._uow() as uow:
            for row in await uow.outbox.list_for(status="running"):
                if row["claimed_by"] == self.worker_id:
                    await uow.outbox.release(int(row["id"]), now=self._clock())
            await uow.commit()
