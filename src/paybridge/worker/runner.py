"""The worker loop: lease due tasks (`FOR UPDATE SKIP LOCKED`), run them, record outcomes.

Several worker processes may share one PostgreSQL database: a task is leased to one of
them, the lease renewed while it runs, and its outcome recorded only while the row is still
leased to that worker. A worker that dies is seen gone through its presence lock and its
tasks are claimed again at once (else when the lease lapses). Failures of the task back
off exponentially with jitter and end in the dead-letter state, never in deletion; outages
postpone, with a capped back-off shared by the task family, and never spend attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import socket
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from paybridge.domain.clock import Clock
from paybridge.metrics import Metrics
from paybridge.persistence.doorbell import Doorbell
from paybridge.persistence.presence import Presence
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.outages import is_outage
from paybridge.services.tasks import (
    BatchHandler,
    Dead,
    Done,
    Outcome,
    Postpone,
    Retry,
    Task,
    lane_of,
    outcome_of_error,
)

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LaneLimits:
    """How one lane claims: tasks per batch, and batches run at once."""

    batch_size: int
    in_flight: int = 1
    # After a batch that was not full, wait this long before claiming again: batches side
    # by side would otherwise each carry a few tasks, and cost an API call each.
    linger_s: float = 0.0
    # After a batch of at least `busy_from` tasks that was still not full, traffic is flowing:
    # wait about as long as that traffic takes to fill a batch (never more than
    # `busy_linger_s`), so the next batch carries it in one call.
    busy_linger_s: float = 0.0
    busy_from: int = 0

    def pause_after(self, claimed: int, gathered_s: float) -> float:
        """How long to wait before the next claim, after claiming `claimed` tasks that
        became due over `gathered_s` seconds (since the claim before)."""
        if claimed >= self.batch_size:
            return 0.0
        if not self.busy_from or claimed < self.busy_from:
            return self.linger_s
        fill_s = (self.batch_size - claimed) * max(gathered_s, 0.0) / claimed
        return max(self.linger_s, min(fill_s, self.busy_linger_s))


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    poll_interval_s: float = 0.5
    batch_size: int = 50
    lease_s: float = 60.0
    max_attempts: int = 12
    backoff_base_s: float = 1.0
    backoff_max_s: float = 600.0
    # Outages (provider or database away) postpone without spending attempts; their
    # back-off grows from `backoff_base_s` up to this, so a returning provider is seen soon.
    outage_backoff_max_s: float = 60.0
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
        presence: Callable[[str], Presence] | None = None,
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
        self._presence = presence
        self._take_over = False  # set while this worker's presence lock is held
        self._lane_of = {kind: self._lane_name(kind) for kind in handlers}
        self._wake = {lane: asyncio.Event() for lane in self._lane_of.values()}
        self._family_kinds: dict[str, list[str]] = defaultdict(list)
        for kind in handlers:
            self._family_kinds[lane_of(kind)].append(kind)
        self._outages: dict[str, int] = defaultdict(int)  # family → postponed batches in a row
        self._task_outages: dict[int, int] = {}  # task → postponed alone, in a row
        self._paused_until: dict[str, datetime] = {}  # lane → no claims before

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
            async with contextlib.AsyncExitStack() as stack:
                presence = None
                if self._presence is not None:
                    presence = await stack.enter_async_context(self._presence(self.worker_id))
                    self._take_over = True
                async with asyncio.TaskGroup() as group:
                    if presence is not None:
                        group.create_task(self._keep_presence(presence))
                    for lane, kinds in lanes.items():
                        group.create_task(self._lane(kinds, self._config.limits(lane)))
        finally:
            self._take_over = False
            if stop_listening is not None:
                stop_listening()
        _log.info("worker.stopped", worker_id=self.worker_id)

    async def _keep_presence(self, presence: Presence) -> None:
        """Take the presence lock again should its session have been lost meanwhile."""
        while not self._stopping.is_set():
            await self._pause(self._config.lease_s / 3)
            try:
                await presence.keep()
            except Exception:  # noqa: BLE001 — the database is away: try again later
                _log.warning("worker.presence.unavailable", worker_id=self.worker_id)

    def _lane_name(self, kind: str) -> str:
        return lane_of(kind) if self._config.lanes else "all"

    def _on_bell(self, kinds: frozenset[str]) -> None:
        for kind in kinds:
            lane = self._lane_of.get(kind)
            if lane is not None:
                self._wake[lane].set()

    async def _lane(self, kinds: Sequence[str], limits: LaneLimits) -> None:
        """Claim and run batches of `kinds`, up to `limits.in_flight` at once; on stop, the
        batches in hand are finished before this returns."""
        lane = self._lane_of[kinds[0]]
        wake = self._wake[lane]
        slots = asyncio.Semaphore(max(limits.in_flight, 1))
        loop = asyncio.get_running_loop()
        last_claim = loop.time()
        async with asyncio.TaskGroup() as running:
            while not self._stopping.is_set():
                await self._sit_out_outage(lane)
                await slots.acquire()
                claimed_at, gathered_s = loop.time(), loop.time() - last_claim
                last_claim = claimed_at
                try:
                    tasks = await self._claim(kinds, limit=limits.batch_size)
                except Exception:  # noqa: BLE001 — a database outage must not kill the loop
                    _log.exception("worker.cycle.failed", kinds=list(kinds))
                    tasks = []
                if tasks:
                    running.create_task(self._run_in_slot(tasks, slots))
                    await self._pause(limits.pause_after(len(tasks), gathered_s))
                    continue
                slots.release()
                await self._idle(wake)

    async def _sit_out_outage(self, lane: str) -> None:
        """While the lane's provider is away, claim nothing (new tasks wait with the rest)."""
        until = self._paused_until.get(lane)
        while until is not None and not self._stopping.is_set():
            left = (until - self._clock()).total_seconds()
            if left <= 0:
                break
            await self._pause(min(left, self._config.poll_interval_s * 10))
            until = self._paused_until.get(lane)

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

    async def run_once(
        self, kinds: Sequence[str] | None = None, *, limit: int | None = None
    ) -> int:
        """Claim one batch (of `kinds`, default all; at most `limit`, default the batch size)
        and run it; returns how many ran."""
        tasks = await self._claim(kinds, limit=limit or self._config.batch_size)
        await self._run_claimed(tasks)
        return len(tasks)

    async def _run_claimed(self, tasks: Sequence[Task]) -> None:
        by_kind: dict[str, list[Task]] = defaultdict(list)
        for task in tasks:
            by_kind[task.kind].append(task)
        async with self._heartbeat([task.id for task in tasks]):
            for kind, group in by_kind.items():
                outcomes = await self._run_group(kind, group)
                await self._store(group, outcomes)

    async def _store(self, group: Sequence[Task], outcomes: Mapping[int, Outcome]) -> None:
        """Record the outcomes, waiting out a database outage for as long as the lease
        lasts: the work is done, and running it again would spend another attempt."""
        deadline = asyncio.get_running_loop().time() + self._config.lease_s
        for attempt in itertools.count(1):
            try:
                await self._record(group, outcomes)
                return
            except Exception as exc:
                if not is_outage(exc) or asyncio.get_running_loop().time() >= deadline:
                    raise
                _log.warning("worker.record.retry", error_type=type(exc).__name__)
            delay = backoff_s(
                attempt,
                base_s=self._config.backoff_base_s,
                max_s=self._config.lease_s / 3,
                rng=self._rng,
            )
            await asyncio.sleep(delay)

    @contextlib.asynccontextmanager
    async def _heartbeat(self, task_ids: Sequence[int]) -> AsyncIterator[None]:
        """Renew the batch's leases while it runs: a slow batch (several Salesforce calls,
        each with its own retry budget) never outlives its lease and runs twice."""
        beat = asyncio.create_task(self._renew(task_ids))
        try:
            yield
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _renew(self, task_ids: Sequence[int]) -> None:
        lease = timedelta(seconds=self._config.lease_s)
        while True:
            await asyncio.sleep(self._config.lease_s / 3)
            try:
                async with self._uow() as uow:
                    await uow.outbox.renew(
                        task_ids, owner=self.worker_id, locked_until=self._clock() + lease
                    )
                    await uow.commit()
            except Exception:  # noqa: BLE001 — the lease may lapse; a takeover is still safe
                _log.warning("worker.lease.renewal_failed", worker_id=self.worker_id)

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
                take_over=self._take_over,
            )
            await uow.commit()
        return [
            Task(
                id=int(r["id"]),
                kind=r["kind"],
                payload=dict(r["payload"]),
                attempts=r["attempts"],
                last_attempt=r["attempts"] >= self._config.max_attempts,
            )
            for r in rows
        ]

    async def _run_group(self, kind: str, group: Sequence[Task]) -> Mapping[int, Outcome]:
        handler = self._handlers[kind]
        try:
            return await handler(group)
        except Exception as exc:  # noqa: BLE001 — every task of the batch is retried
            _log.exception("worker.handler.failed", kind=kind)
            outcome = outcome_of_error(exc)
            return dict.fromkeys((task.id for task in group), outcome)

    async def _record(self, group: Sequence[Task], outcomes: Mapping[int, Outcome]) -> None:
        """Store each task's outcome, only where the task is still leased to this worker."""
        now = self._clock()
        config = self._config
        me = self.worker_id
        family = lane_of(group[0].kind)
        family_until: datetime | None = None
        async with self._uow() as uow:
            done: list[int] = []
            for task in group:
                outcome = outcomes.get(task.id, Retry("handler gave no outcome"))
                self._metrics.tasks.labels(task.kind, type(outcome).__name__.lower()).inc()
                if not isinstance(outcome, Postpone):
                    self._task_outages.pop(task.id, None)
                if isinstance(outcome, Done):
                    done.append(task.id)
                elif isinstance(outcome, Postpone):
                    run_at = self._postponed_until(task, outcome, family, now)
                    await uow.outbox.retry_later(
                        task.id, error=outcome.error, run_at=run_at, now=now, owner=me, counts=False
                    )
                    if outcome.whole_lane:
                        family_until = max(family_until or run_at, run_at)
                    _log.warning(
                        "worker.task.postponed",
                        kind=task.kind,
                        task_id=task.id,
                        until=run_at.isoformat(),
                        error=outcome.error,
                    )
                elif isinstance(outcome, Dead) or task.attempts >= config.max_attempts:
                    error = outcome.error
                    await uow.outbox.bury(task.id, error=error, now=now, owner=me)
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
                        owner=me,
                    )
                    _log.warning(
                        "worker.task.retry", kind=task.kind, task_id=task.id, error=outcome.error
                    )
            if family_until is not None:
                # The provider is away for every task of the family: they all wait.
                kinds = self._family_kinds[family]
                await uow.outbox.postpone_kinds(kinds, until=family_until, now=now)
            await uow.outbox.complete_many(done, now=now, owner=me)
            await uow.commit()
        if family_until is not None:
            self._outages[family] += 1
            if config.lanes:
                lane = self._lane_of[group[0].kind]
                self._paused_until[lane] = max(self._paused_until.get(lane, now), family_until)
        elif done:
            self._outages[family] = 0

    def _postponed_until(
        self, task: Task, outcome: Postpone, family: str, now: datetime
    ) -> datetime:
        """When the provider said (a limit's pause), else the capped outage back-off: shared
        by the family when the provider is away, the task's own when only it waits."""
        if outcome.until is not None:
            return outcome.until
        if outcome.whole_lane:
            streak = self._outages[family] + 1
        else:
            if len(self._task_outages) > 10_000:  # tasks taken over elsewhere leave entries
                self._task_outages.clear()
            streak = self._task_outages[task.id] = self._task_outages.get(task.id, 0) + 1
        delay = backoff_s(
            streak,
            base_s=self._config.backoff_base_s,
            max_s=self._config.outage_backoff_max_s,
            rng=self._rng,
        )
        return now + timedelta(seconds=delay)

    async def release_claimed(self) -> None:
        """On shutdown: give back what this worker leased but did not start."""
        async with self._uow() as uow:
            for row in await uow.outbox.list_for(status="running"):
                if row["claimed_by"] == self.worker_id:
                    await uow.outbox.release(
                        int(row["id"]), now=self._clock(), owner=self.worker_id
                    )
            await uow.commit()
