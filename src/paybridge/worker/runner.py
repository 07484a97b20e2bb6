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
from dataclasses import dataclass
from datetime import timedelta

import structlog

from paybridge.domain.clock import Clock
from paybridge.metrics import Metrics
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.tasks import BatchHandler, Dead, Done, Outcome, Postpone, Retry, Task

_log = structlog.get_logger(__name__)


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
    ) -> None:
        self._uow = uow
        self._handlers = handlers
        self._clock = clock
        self._metrics = metrics
        self._config = config
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._rng = rng or random.Random()  # noqa: S311 — jitter, not security
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the batch in hand, claim nothing more."""
        self._stopping.set()

    async def run(self) -> None:
        """One claim loop per lane (the kinds' family: `webhooks`, `salesforce`, …), so slow
        Salesforce writes never hold up webhook processing, and each lane batches its own."""
        lanes: dict[str, list[str]] = defaultdict(list)
        for kind in self._handlers:
            lanes[kind.split(".", 1)[0] if self._config.lanes else "all"].append(kind)
        _log.info("worker.started", worker_id=self.worker_id, lanes=dict(lanes))
        async with asyncio.TaskGroup() as group:
            for kinds in lanes.values():
                group.create_task(self._lane(kinds))
        _log.info("worker.stopped", worker_id=self.worker_id)

    async def _lane(self, kinds: Sequence[str]) -> None:
        while not self._stopping.is_set():
            try:
                ran = await self.run_once(kinds)
            except Exception:  # noqa: BLE001 — a database outage must not kill the loop
                _log.exception("worker.cycle.failed", kinds=list(kinds))
                ran = 0
            if ran == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stopping.wait(), timeout=self._config.poll_interval_s
                    )

    async def run_once(self, kinds: Sequence[str] | None = None) -> int:
        """Claim one batch (of `kinds`, default all) and run it; returns how many ran."""
        tasks = await self._claim(kinds)
        if not tasks:
            return 0
        by_kind: dict[str, list[Task]] = defaultdict(list)
        for task in tasks:
            by_kind[task.kind].append(task)
        for kind, group in by_kind.items():
            outcomes = await self._run_group(kind, group)
            await self._record(group, outcomes)
        return len(tasks)

    async def drain(self, *, max_cycles: int = 1000) -> int:
        """Run until nothing is due (tests, CLI one-shots); returns tasks run."""
        total = 0
        for _ in range(max_cycles):
            ran = await self.run_once()
            if ran == 0:
                return total
            total += ran
        return total

    async def _claim(self, kinds: Sequence[str] | None) -> list[Task]:
        async with self._uow() as uow:
            rows = await uow.outbox.claim_due(
                now=self._clock(),
                limit=self._config.batch_size,
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
