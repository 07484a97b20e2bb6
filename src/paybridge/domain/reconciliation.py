"""When to ask Checkout.com about an outcome its webhook has not brought (pure).

Webhooks bring outcomes within seconds, and Checkout.com retries them for about 30 hours;
a payment still Pending, or with an action still Requested or Pending, an hour after it began
is overdue. It is asked about then, and again at waits that grow with its age (up to a
day), for a week; after that a person has to look.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from paybridge.domain.status import ActionStatus, PaymentStatus

FIRST_CHECK = timedelta(hours=1)
LONGEST_WAIT = timedelta(hours=24)
GIVE_UP_AFTER = timedelta(days=7)

_AWAITING = frozenset({ActionStatus.REQUESTED, ActionStatus.PENDING})


def awaiting_since(
    status: PaymentStatus,
    created_at: datetime,
    actions: Iterable[tuple[ActionStatus, datetime]],
) -> datetime | None:
    """When the newest outcome still awaited began (actions as (status, since)); None when
    nothing is awaited."""
    began = [since for action_status, since in actions if action_status in _AWAITING]
    if status is PaymentStatus.PENDING:
        began.append(created_at)
    return max(began) if began else None


def next_check(now: datetime, since: datetime) -> datetime:
    """An hour after it began at the earliest; then waits as long as its age, up to a day."""
    age = now - since
    if age < FIRST_CHECK:
        return since + FIRST_CHECK
    return now + min(age, LONGEST_WAIT)


def given_up(now: datetime, since: datetime) -> bool:
    return now - since > GIVE_UP_AFTER
