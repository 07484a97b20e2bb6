"""The status fold: every status reachable, amounts exact, order irrelevant, final is final."""

from __future__ import annotations

import itertools

import pytest

from paybridge.domain.status import (
    ActionStatus,
    ActionType,
    LedgerEntry,
    PaymentStatus,
    advance_action_status,
    fold,
)

A, S, P, D, R = (
    ActionType,
    ActionStatus.SUCCEEDED,
    ActionStatus.PENDING,
    ActionStatus.DECLINED,
    ActionStatus.REQUESTED,
)


def entry(
    kind: ActionType, status: ActionStatus, amount: int | None = None, final: bool | None = None
) -> LedgerEntry:
    return LedgerEntry(type=kind, status=status, amount_minor=amount, final=final)


AUTH = entry(A.AUTHORIZATION, S, 10000)

CASES: list[tuple[str, list[LedgerEntry], PaymentStatus]] = [
    ("nothing yet", [], PaymentStatus.PENDING),
    ("3ds pending", [entry(A.AUTHORIZATION, P)], PaymentStatus.PENDING),
    ("approved", [AUTH], PaymentStatus.AUTHORIZED),
    ("declined", [entry(A.AUTHORIZATION, D, 10000)], PaymentStatus.DECLINED),
    ("verified", [entry(A.CARD_VERIFICATION, S, 0)], PaymentStatus.CARD_VERIFIED),
    ("verification declined", [entry(A.CARD_VERIFICATION, D, 0)], PaymentStatus.DECLINED),
    ("partial capture", [AUTH, entry(A.CAPTURE, S, 4000)], PaymentStatus.PARTIALLY_CAPTURED),
    ("final partial capture", [AUTH, entry(A.CAPTURE, S, 4000, True)], PaymentStatus.CAPTURED),
    ("full capture", [AUTH, entry(A.CAPTURE, S, 10000)], PaymentStatus.CAPTURED),
    ("capture requested", [AUTH, entry(A.CAPTURE, R, 10000)], PaymentStatus.AUTHORIZED),
    ("capture declined", [AUTH, entry(A.CAPTURE, D, 10000)], PaymentStatus.AUTHORIZED),
    (
        "partial refund",
        [AUTH, entry(A.CAPTURE, S, 10000), entry(A.REFUND, S, 100)],
        PaymentStatus.PARTIALLY_REFUNDED,
    ),
    (
        "full refund",
        [AUTH, entry(A.CAPTURE, S, 10000), entry(A.REFUND, S, 10000)],
        PaymentStatus.REFUNDED,
    ),
    (
        "refund of a partial capture that may grow",
        [AUTH, entry(A.CAPTURE, S, 4000), entry(A.REFUND, S, 4000)],
        PaymentStatus.PARTIALLY_REFUNDED,
    ),
    ("voided", [AUTH, entry(A.VOID, S)], PaymentStatus.VOIDED),
    ("void declined", [AUTH, entry(A.VOID, D)], PaymentStatus.AUTHORIZED),
    ("expired apm", [entry(A.AUTHORIZATION, P), entry(A.EXPIRY, S)], PaymentStatus.EXPIRED),
    ("canceled apm", [entry(A.AUTHORIZATION, P), entry(A.CANCELLATION, S)], PaymentStatus.CANCELED),
    ("apm paid", [entry(A.AUTHORIZATION, P), entry(A.CAPTURE, S, 10000)], PaymentStatus.CAPTURED),
    (
        "returned",
        [AUTH, entry(A.CAPTURE, S, 10000), entry(A.RETURN, S, 10000)],
        PaymentStatus.REFUNDED,
    ),
]


@pytest.mark.parametrize(("name", "ledger", "expected"), CASES, ids=[c[0] for c in CASES])
def test_status_of_each_ledger_in_every_order(
    name: str, ledger: list[LedgerEntry], expected: PaymentStatus
) -> None:
    for order in itertools.permutations(ledger):
        assert fold(order, amount_minor=10000).status is expected, name


def test_amounts_and_availability() -> None:
    state = fold(
        [
            AUTH,
            entry(A.CAPTURE, S, 6000),
            entry(A.CAPTURE, R, 1000),
            entry(A.REFUND, S, 2000),
            entry(A.REFUND, P, 500),
        ],
        amount_minor=10000,
    )
    assert state.authorized_minor == 10000
    assert state.captured_minor == 6000
    assert state.refunded_minor == 2000
    assert state.available_to_capture == 0  # partially refunded: capture window closed
    assert state.available_to_refund == 3500
    assert state.available_to_void == 0


def test_available_to_capture_counts_requested_captures() -> None:
    state = fold([AUTH, entry(A.CAPTURE, S, 3000), entry(A.CAPTURE, R, 2000)], amount_minor=10000)
    assert state.status is PaymentStatus.PARTIALLY_CAPTURED
    assert state.available_to_capture == 5000


def test_unknown_authorized_amount_never_closes_early() -> None:
    state = fold([entry(A.CAPTURE, S, 3000), entry(A.REFUND, S, 3000)], amount_minor=0)
    assert state.status is PaymentStatus.PARTIALLY_REFUNDED
    assert state.authorized_minor == 3000


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        (R, P, P),
        (P, S, S),
        (R, D, D),
        (S, P, S),
        (S, R, S),
        (S, D, S),  # the first settlement wins
        (D, S, D),
        (P, P, P),
    ],
)
def test_actions_only_move_forward(
    current: ActionStatus, incoming: ActionStatus, expected: ActionStatus
) -> None:
    assert advance_action_status(current, incoming) is expected
