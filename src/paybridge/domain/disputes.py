"""Dispute status as a lattice: it only moves forward, and some moves are impossible.

Stages: evidence required → evidence under review → a first decision (won, lost, accepted,
expired, canceled, resolved) → arbitration (evidence submitted, then under review) →
arbitration won or lost. A late event (a predecessor of the stored status) changes nothing;
a contradicting one (`won` after `lost`, `accepted` after evidence was submitted) is refused
and reported, so Checkout.com's retries never wait on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DisputeStatus(StrEnum):
    """Checkout.com's dispute statuses (2023 spec, plus the Java SDK's `arb_evidence_submitted`)."""

    EVIDENCE_REQUIRED = "evidence_required"
    EVIDENCE_UNDER_REVIEW = "evidence_under_review"
    WON = "won"
    LOST = "lost"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    CANCELED = "canceled"
    RESOLVED = "resolved"
    ARB_EVIDENCE_SUBMITTED = "arb_evidence_submitted"
    ARBITRATION_UNDER_REVIEW = "arbitration_under_review"
    ARBITRATION_WON = "arbitration_won"
    ARBITRATION_LOST = "arbitration_lost"


S = DisputeStatus

FIRST_DECISIONS = frozenset({S.WON, S.LOST, S.ACCEPTED, S.EXPIRED, S.CANCELED, S.RESOLVED})
ARBITRATION = frozenset(
    {S.ARB_EVIDENCE_SUBMITTED, S.ARBITRATION_UNDER_REVIEW, S.ARBITRATION_WON, S.ARBITRATION_LOST}
)
# The amount is gone for the merchant (the cardholder keeps it) in these statuses only.
LOST_STATUSES = frozenset({S.LOST, S.ACCEPTED, S.EXPIRED, S.ARBITRATION_LOST})

# Direct successors. Accepting and expiring are only possible before evidence was submitted;
# arbitration only follows a lost first decision; finals have no successors.
_NEXT: dict[DisputeStatus, frozenset[DisputeStatus]] = {
    S.EVIDENCE_REQUIRED: FIRST_DECISIONS | {S.EVIDENCE_UNDER_REVIEW},
    S.EVIDENCE_UNDER_REVIEW: frozenset({S.WON, S.LOST, S.CANCELED, S.RESOLVED}),
    S.LOST: frozenset({S.ARB_EVIDENCE_SUBMITTED, S.ARBITRATION_UNDER_REVIEW}),
    S.ARB_EVIDENCE_SUBMITTED: frozenset({S.ARBITRATION_UNDER_REVIEW}),
    S.ARBITRATION_UNDER_REVIEW: frozenset({S.ARBITRATION_WON, S.ARBITRATION_LOST}),
}


def _reachable(start: DisputeStatus) -> frozenset[DisputeStatus]:
    seen: set[DisputeStatus] = set()
    frontier = list(_NEXT.get(start, ()))
    while frontier:
        status = frontier.pop()
        if status not in seen:
            seen.add(status)
            frontier.extend(_NEXT.get(status, ()))
    return frozenset(seen)


_LATER: dict[DisputeStatus, frozenset[DisputeStatus]] = {s: _reachable(s) for s in S}

# Checkout.com event type → the status it announces (used when the resource gave none).
EVENT_STATUSES: dict[str, DisputeStatus] = {
    "dispute_received": S.EVIDENCE_REQUIRED,
    "dispute_evidence_required": S.EVIDENCE_REQUIRED,
    "dispute_evidence_submitted": S.EVIDENCE_UNDER_REVIEW,
    "dispute_evidence_acknowledged_by_scheme": S.EVIDENCE_UNDER_REVIEW,
    "dispute_won": S.WON,
    "dispute_lost": S.LOST,
    "dispute_accepted": S.ACCEPTED,
    "dispute_expired": S.EXPIRED,
    "dispute_canceled": S.CANCELED,
    "dispute_resolved": S.RESOLVED,
    "dispute_arbitration_evidence_submitted": S.ARB_EVIDENCE_SUBMITTED,
    "dispute_arbitration_sent_to_scheme": S.ARBITRATION_UNDER_REVIEW,
    "dispute_arbitration_won": S.ARBITRATION_WON,
    "dispute_arbitration_lost": S.ARBITRATION_LOST,
}


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of merging an incoming status: `changed` = store it; `impossible` = the
    incoming status contradicts the stored one (kept), which the caller logs."""

    status: DisputeStatus
    changed: bool
    impossible: bool


def parse_status(value: object) -> DisputeStatus | None:
    """A status paybridge knows, or None (Checkout.com may add statuses over time)."""
    try:
        return DisputeStatus(value) if isinstance(value, str) else None
    except ValueError:
        return None


def status_of_event(event_type: str) -> DisputeStatus | None:
    return EVENT_STATUSES.get(event_type)


def can_follow(current: DisputeStatus, incoming: DisputeStatus) -> bool:
    """True when a dispute in `current` can later be in `incoming`."""
    return incoming in _LATER[current]


def advance(current: DisputeStatus | None, incoming: DisputeStatus) -> Transition:
    """Forward only: a successor replaces, a predecessor or duplicate is a no-op, anything
    else is impossible and leaves `current` in place."""
    if current is None:
        return Transition(incoming, changed=True, impossible=False)
    if incoming is current or can_follow(incoming, current):
        return Transition(current, changed=False, impossible=False)
    if can_follow(current, incoming):
        return Transition(incoming, changed=True, impossible=False)
    return Transition(current, changed=False, impossible=True)


def is_open_for_evidence(status: DisputeStatus) -> bool:
    """Evidence may be saved, submitted or the dispute accepted (deadline checked apart)."""
    return status is S.EVIDENCE_REQUIRED


def is_decided(status: DisputeStatus) -> bool:
    """A first decision was made (arbitration stages included)."""
    return status in FIRST_DECISIONS or status in ARBITRATION


def lost_minor(status: DisputeStatus, amount_minor: int | None) -> int:
    """What the merchant has lost to this dispute (0 while undecided, won or resolved)."""
    if status not in LOST_STATUSES or amount_minor is None:
        return 0
    return max(amount_minor, 0)


def evidence_refusal(
    status: DisputeStatus, evidence_required_by: datetime | None, now: datetime
) -> str | None:
    """Why evidence (or an acceptance) cannot be sent now, as a stable code; None if it can."""
    if is_decided(status):
        return "dispute_decided"
    if not is_open_for_evidence(status):
        return "dispute_not_open"
    if evidence_required_by is not None and now >= evidence_required_by:
        return "evidence_deadline_passed"
    return None
