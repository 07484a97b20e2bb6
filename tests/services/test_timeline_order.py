"""The payment view lists actions as they happened, whatever order their webhooks came in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from paybridge.services.views import in_timeline_order

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _action(kind: str, *, processed: int | None, recorded: int) -> Any:
    return {
        "type": kind,
        "processed_at": None if processed is None else T0 + timedelta(seconds=processed),
        "requested_at": None,
        "created_at": T0 + timedelta(seconds=recorded),
    }


def test_a_capture_recorded_before_its_authorization_is_listed_after_it() -> None:
    # Checkout.com emits approved and captured together; reordered delivery records the
    # capture first, with the same processing time.
    capture = _action("capture", processed=0, recorded=0)
    authorization = _action("authorization", processed=0, recorded=1)
    assert [a["type"] for a in in_timeline_order([capture, authorization])] == [
        "authorization",
        "capture",
    ]


def test_later_actions_follow_processing_time_then_recording_time() -> None:
    refund = _action("refund", processed=30, recorded=1)
    capture = _action("capture", processed=10, recorded=2)
    requested_void = _action("void", processed=None, recorded=40)
    authorization = _action("authorization", processed=0, recorded=3)
    ordered = in_timeline_order([refund, requested_void, capture, authorization])
    assert [a["type"] for a in ordered] == ["authorization", "capture", "refund", "void"]
