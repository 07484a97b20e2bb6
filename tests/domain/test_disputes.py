"""The dispute status lattice, exhaustively: every (stored, incoming) pair has one outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from paybridge.domain.disputes import (
    EVENT_STATUSES,
    DisputeStatus,
    Transition,
    advance,
    evidence_refusal,
    is_decided,
    is_open_for_evidence,
    lost_minor,
    parse_status,
    status_of_event,
)

S = DisputeStatus

# Written out independently of the implementation: which statuses can come *after* each.
FIRSTS = {S.WON, S.LOST, S.ACCEPTED, S.EXPIRED, S.CANCELED, S.RESOLVED}
ARB = {S.ARB_EVIDENCE_SUBMITTED, S.ARBITRATION_UNDER_REVIEW, S.ARBITRATION_WON, S.ARBITRATION_LOST}
LATER: dict[DisputeStatus, set[DisputeStatus]] = {
    S.EVIDENCE_REQUIRED: {S.EVIDENCE_UNDER_REVIEW} | FIRSTS | ARB,
    S.EVIDENCE_UNDER_REVIEW: {S.WON, S.LOST, S.CANCELED, S.RESOLVED} | ARB,
    S.WON: set(),
    S.LOST: set(ARB),
    S.ACCEPTED: set(),
    S.EXPIRED: set(),
    S.CANCELED: set(),
    S.RESOLVED: set(),
    S.ARB_EVIDENCE_SUBMITTED: {S.ARBITRATION_UNDER_REVIEW, S.ARBITRATION_WON, S.ARBITRATION_LOST},
    S.ARBITRATION_UNDER_REVIEW: {S.ARBITRATION_WON, S.ARBITRATION_LOST},
    S.ARBITRATION_WON: set(),
    S.ARBITRATION_LOST: set(),
}


def expected(current: DisputeStatus, incoming: DisputeStatus) -> Transition:
    if incoming in LATER[current]:
        return Transition(incoming, changed=True, impossible=False)
    if incoming is current or current in LATER[incoming]:
        return Transition(current, changed=False, impossible=False)
    return Transition(current, changed=False, impossible=True)


def test_the_table_covers_every_status() -> None:
    assert set(LATER) == set(DisputeStatus)


@pytest.mark.parametrize(("current", "incoming"), list(product(S, S)))
def test_every_pair(current: DisputeStatus, incoming: DisputeStatus) -> None:
    assert advance(current, incoming) == expected(current, incoming)


@pytest.mark.parametrize("incoming", list(S))
def test_a_new_dispute_takes_any_status(incoming: DisputeStatus) -> None:
    assert advance(None, incoming) == Transition(incoming, changed=True, impossible=False)


@pytest.mark.parametrize(
    ("current", "incoming"),
    [
        (S.WON, S.LOST),
        (S.LOST, S.WON),
        (S.EVIDENCE_UNDER_REVIEW, S.ACCEPTED),  # accepting is only possible before evidence
        (S.EVIDENCE_UNDER_REVIEW, S.EXPIRED),
        (S.ACCEPTED, S.ARBITRATION_WON),  # arbitration follows a lost decision only
        (S.ARBITRATION_WON, S.ACCEPTED),  # a late event that cannot have come before
        (S.ARBITRATION_WON, S.ARBITRATION_LOST),
    ],
)
def test_contradictions_are_impossible_and_change_nothing(
    current: DisputeStatus, incoming: DisputeStatus
) -> None:
    assert advance(current, incoming) == Transition(current, changed=False, impossible=True)


@pytest.mark.parametrize(
    ("current", "incoming"),
    [
        (S.WON, S.EVIDENCE_REQUIRED),
        (S.WON, S.EVIDENCE_UNDER_REVIEW),
        (S.ARBITRATION_LOST, S.LOST),
        (S.ARBITRATION_LOST, S.EVIDENCE_UNDER_REVIEW),
        (S.ARBITRATION_UNDER_REVIEW, S.ARB_EVIDENCE_SUBMITTED),
    ],
)
def test_late_events_are_quiet_no_ops(current: DisputeStatus, incoming: DisputeStatus) -> None:
    assert advance(current, incoming) == Transition(current, changed=False, impossible=False)


def test_a_chain_only_moves_forward() -> None:
    status: DisputeStatus | None = None
    for incoming in (S.EVIDENCE_REQUIRED, S.EVIDENCE_UNDER_REVIEW, S.LOST, S.ARBITRATION_WON):
        result = advance(status, incoming)
        assert result.changed
        status = result.status
    assert status is S.ARBITRATION_WON


def test_predicates() -> None:
    assert [s for s in S if is_open_for_evidence(s)] == [S.EVIDENCE_REQUIRED]
    assert {s for s in S if is_decided(s)} == FIRSTS | ARB


@pytest.mark.parametrize(
    ("status", "lost"),
    [
        (S.EVIDENCE_REQUIRED, 0),
        (S.EVIDENCE_UNDER_REVIEW, 0),
        (S.WON, 0),
        (S.LOST, 14990),
        (S.ACCEPTED, 14990),
        (S.EXPIRED, 14990),
        (S.CANCELED, 0),
        (S.RESOLVED, 0),
        (S.ARB_EVIDENCE_SUBMITTED, 0),
        (S.ARBITRATION_UNDER_REVIEW, 0),
        (S.ARBITRATION_WON, 0),
        (S.ARBITRATION_LOST, 14990),
    ],
)
def test_lost_amount(status: DisputeStatus, lost: int) -> None:
    assert lost_minor(status, 14990) == lost
    assert lost_minor(status, None) == 0


def test_a_negative_disputed_amount_is_never_a_loss() -> None:
    assert lost_minor(S.LOST, -500) == 0


def test_every_event_maps_to_a_status_and_unknowns_do_not() -> None:
    assert status_of_event("dispute_won") is S.WON
    assert status_of_event("dispute_evidence_submitted") is S.EVIDENCE_UNDER_REVIEW
    assert status_of_event("dispute_arbitration_sent_to_scheme") is S.ARBITRATION_UNDER_REVIEW
    assert status_of_event("dispute_something_new") is None
    assert all(name.startswith("dispute_") for name in EVENT_STATUSES)


def test_parse_status_tolerates_new_values() -> None:
    assert parse_status("won") is S.WON
    assert parse_status("pre_arbitration_something") is None
    assert parse_status(None) is None


NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "deadline", "code"),
    [
        (S.EVIDENCE_REQUIRED, NOW + timedelta(days=1), None),
        (S.EVIDENCE_REQUIRED, None, None),
        (S.EVIDENCE_REQUIRED, NOW, "evidence_deadline_passed"),
        (S.EVIDENCE_REQUIRED, NOW - timedelta(seconds=1), "evidence_deadline_passed"),
        (S.EVIDENCE_UNDER_REVIEW, NOW + timedelta(days=1), "dispute_not_open"),
        (S.WON, NOW + timedelta(days=1), "dispute_decided"),
        (S.LOST, NOW - timedelta(days=1), "dispute_decided"),
        (S.ARBITRATION_UNDER_REVIEW, None, "dispute_decided"),
    ],
)
def test_evidence_refusal(
    status: DisputeStatus, deadline: datetime | None, code: str | None
) -> None:
    assert evidence_refusal(status, deadline, NOW) == code
