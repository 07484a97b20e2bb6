"""When an overdue outcome is asked about: an hour after it began, then at growing waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from paybridge.domain.reconciliation import awaiting_since, given_up, next_check
from paybridge.domain.status import ActionStatus, PaymentStatus

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_nothing_awaited_means_nothing_to_ask() -> None:
    settled = [(ActionStatus.SUCCEEDED, T0), (ActionStatus.DECLINED, T0 + HOUR)]
    assert awaiting_since(PaymentStatus.CAPTURED, T0, settled) is None


def test_the_newest_awaited_outcome_counts() -> None:
    actions = [
        (ActionStatus.REQUESTED, T0 + HOUR),
        (ActionStatus.PENDING, T0 + 2 * HOUR),
        (ActionStatus.SUCCEEDED, T0 + 3 * HOUR),
    ]
    assert awaiting_since(PaymentStatus.AUTHORIZED, T0, actions) == T0 + 2 * HOUR
    assert awaiting_since(PaymentStatus.PENDING, T0, []) == T0  # 3DS or APM not finished


def test_first_check_an_hour_after_then_waits_as_long_as_the_age_up_to_a_day() -> None:
    assert next_check(T0 + timedelta(seconds=5), T0) == T0 + HOUR
    assert next_check(T0 + HOUR, T0) == T0 + 2 * HOUR
    assert next_check(T0 + 5 * HOUR, T0) == T0 + 10 * HOUR
    assert next_check(T0 + 72 * HOUR, T0) == T0 + 96 * HOUR


def test_a_week_without_an_outcome_is_for_a_person() -> None:
    assert not given_up(T0 + timedelta(days=7), T0)
    assert given_up(T0 + timedelta(days=7, seconds=1), T0)
