"""Folding the outbox's per-kind figures into the worker's lanes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from paybridge.services.backlog import per_lane
from paybridge.services.tasks import lane_of

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_kinds_of_one_family_share_a_lane() -> None:
    assert lane_of("salesforce.sync_payment") == lane_of("salesforce.sync_logs") == "salesforce"
    assert lane_of("webhooks.process") == "webhooks"


def test_a_lane_reports_its_oldest_task_and_the_sum_of_its_kinds() -> None:
    ages, counts = per_lane(
        {
            "salesforce.sync_payment": (NOW - timedelta(minutes=3), 40),
            "salesforce.sync_logs": (NOW - timedelta(minutes=9), 1),
            "webhooks.process": (NOW - timedelta(seconds=2), 5),
        },
        now=NOW,
    )
    assert ages == {"salesforce": 540.0, "webhooks": 2.0}
    assert counts == {"salesforce": 41, "webhooks": 5}


def test_a_task_stored_by_a_clock_slightly_ahead_is_not_negative_age() -> None:
    ages, _ = per_lane({"webhooks.process": (NOW + timedelta(seconds=1), 1)}, now=NOW)
    assert ages == {"webhooks": 0.0}
