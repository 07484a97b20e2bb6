"""Background tasks as use cases see them: a task, its outcome, and the handler contract.

The worker runs handlers and turns outcomes into outbox state; services own the kinds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from paybridge.services.outages import is_outage


def lane_of(kind: str) -> str:
    """A task kind's lane, its family (`salesforce.sync_payment` → `salesforce`): the tasks
    that share one provider, so an outage seen by one holds them all. The worker claims by
    it and `/metrics` reports the backlog by it."""
    return kind.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    # This run is the task's last chance: a failure now dead-letters it, so a handler that
    # holds something for the task (a reserved amount) settles it first.
    last_attempt: bool = False


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again with backoff (transient failure)."""

    error: str


@dataclass(frozen=True, slots=True)
class Dead:
    """Permanent failure: dead-letter now, kept and visible."""

    error: str


@dataclass(frozen=True, slots=True)
class Postpone:
    """Not this task's fault: a provider or the database is away (unreachable, 5xx, timeout,
    rate or daily limit), or work is held on purpose. The attempt is given back, so an outage
    of any length never dead-letters a task.

    `until`: when the provider said to come back (a limit's pause); None = the worker's capped
    outage back-off. `whole_lane`: the provider itself is away, so every task of the lane
    waits too, instead of each discovering the outage alone; False when only this task's
    subject is busy (a locked row) or only this task needs the provider."""

    error: str
    until: datetime | None = None
    whole_lane: bool = True


Outcome = Done | Retry | Dead | Postpone

# A handler gets a batch of due tasks of one kind and answers one outcome per task id;
# a task it leaves out is retried. Batches let the Salesforce sync coalesce API calls.
BatchHandler = Callable[[Sequence[Task]], Awaitable[Mapping[int, Outcome]]]


def outcome_of_error(exc: Exception) -> Outcome:
    """What an exception out of a handler means: an outage postpones this task alone (its
    handler did not say the provider is away for everyone); anything else is a Retry."""
    message = f"{type(exc).__name__}: {exc}"[:2000]
    if is_outage(exc):
        return Postpone(message, whole_lane=False)
    return Retry(message)


def one_by_one(handle: Callable[[Task], Awaitable[Outcome]]) -> BatchHandler:
    """Adapt a per-task handler; an exception becomes an outcome (`outcome_of_error`)."""

    async def batch(tasks: Sequence[Task]) -> Mapping[int, Outcome]:
        results: dict[int, Outcome] = {}
        for task in tasks:
            try:
                results[task.id] = await handle(task)
            except Exception as exc:  # noqa: BLE001 — the runner records and backs off
                results[task.id] = outcome_of_error(exc)
        return results

    return batch


class TaskService(Protocol):
    """A use case that owns background task kinds offers a handler for each."""

    def task_handlers(self) -> dict[str, BatchHandler]: ...


def together_by_subject(
    tasks: Sequence[Task], *, subject_of: Callable[[Task], str | None], groups: int
) -> list[list[Task]]:
    """Split a batch into at most `groups` groups to run side by side: a subject's tasks all
    in one group, and every group in the batch's order. A task without a subject is a
    subject of its own."""
    home: dict[str, int] = {}
    keys = []
    for task in tasks:
        subject = subject_of(task)
        key = f"1:{subject}" if subject is not None else f"0:{task.id}"
        home.setdefault(key, len(home))
        keys.append(key)
    count = max(1, min(groups, len(home)))
    grouped: list[list[Task]] = [[] for _ in range(count)]
    for task, key in zip(tasks, keys, strict=True):
        grouped[home[key] % count].append(task)
    return grouped
