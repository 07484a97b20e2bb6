"""What is waiting or stuck, read from the database: the same for every process, so the
API's `/metrics` reports it for the worker processes too (they serve no HTTP)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.reconciliation import GAVE_UP_ERROR_CODE
from paybridge.services.tasks import lane_of

GIVE_UPS_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Backlog:
    oldest_waiting_s: Mapping[str, float]  # per lane
    waiting_tasks: Mapping[str, int]  # per lane
    dead_tasks: Mapping[str, int]  # per task kind
    parked_syncs: int
    reconcile_give_ups: int  # within GIVE_UPS_WINDOW


def per_lane(
    waiting_by_kind: Mapping[str, tuple[datetime, int]], *, now: datetime
) -> tuple[dict[str, float], dict[str, int]]:
    """The kinds' figures folded into their lanes: the oldest task's age, and the count."""
    ages: dict[str, float] = {}
    counts: dict[str, int] = {}
    for kind, (stored_at, count) in waiting_by_kind.items():
        lane = lane_of(kind)
        ages[lane] = max(0.0, (now - stored_at).total_seconds(), ages.get(lane, 0.0))
        counts[lane] = counts.get(lane, 0) + count
    return ages, counts


async def read_backlog(uow: UnitOfWorkFactory, *, now: datetime) -> Backlog:
    async with uow() as read:
        waiting = await read.backlog.waiting_by_kind()
        dead = await read.backlog.dead_by_kind()
        parked = await read.backlog.parked_syncs()
        give_ups = await read.backlog.logs_with_error_since(
            GAVE_UP_ERROR_CODE, since=now - GIVE_UPS_WINDOW
        )
    ages, counts = per_lane(waiting, now=now)
    return Backlog(
        oldest_waiting_s=ages,
        waiting_tasks=counts,
        dead_tasks=dead,
        parked_syncs=parked,
        reconcile_give_ups=give_ups,
    )
