"""Checkout.com's balances as facts: their merge is order-free, and the fold with them converges
whatever order and duplication the events come in."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from paybridge.domain.balances import Balances, balances_from, merge_balances
from paybridge.domain.status import (
    ActionStatus,
    ActionType,
    LedgerEntry,
    PaymentState,
    PaymentStatus,
    advance_action_status,
    fold,
    stated_amount,
)

# Laid out as in Checkout.com's payment_captured sample (docs, event-types/payment_captured).
CAPTURED_SAMPLE = {
    "total_authorized": 20,
    "total_voided": 0,
    "available_to_void": 0,
    "total_captured": 20,
    "available_to_capture": 0,
    "total_refunded": 0,
    "available_to_refund": 20,
}


def test_reads_the_published_layout() -> None:
    read = balances_from(CAPTURED_SAMPLE)
    assert read == Balances(total_authorized=20, total_captured=20, available_to_refund=20)
    assert read is not None
    assert read.capture_closed
    assert read.as_json() == CAPTURED_SAMPLE


def test_tolerates_what_is_not_a_balance() -> None:
    assert balances_from(None) is None
    assert balances_from([1, 2]) is None
    assert balances_from({"total_captured": "20", "total_refunded": True}) is None
    assert balances_from({"total_captured": -5, "total_authorized": 7}) == Balances(
        total_authorized=7
    )


balance_values = st.builds(
    Balances,
    total_authorized=st.integers(0, 1000),
    total_captured=st.integers(0, 1000),
    total_refunded=st.integers(0, 1000),
    total_voided=st.integers(0, 1000),
    available_to_capture=st.integers(0, 1000),
    available_to_refund=st.integers(0, 1000),
    available_to_void=st.integers(0, 1000),
)


@given(balance_values, balance_values, balance_values)
def test_merge_is_a_semilattice(a: Balances, b: Balances, c: Balances) -> None:
    assert merge_balances(a, b) == merge_balances(b, a)
    assert merge_balances(a, merge_balances(b, c)) == merge_balances(merge_balances(a, b), c)
    assert merge_balances(a, a) == a
    assert merge_balances(a, None) == a
    assert merge_balances(None, a) == a


def test_merge_keeps_the_observation_further_along() -> None:
    approved = Balances(total_authorized=100, available_to_capture=100, available_to_void=100)
    captured = Balances(total_authorized=100, total_captured=100, available_to_refund=100)
    refunded = Balances(total_authorized=100, total_captured=100, total_refunded=40)
    merged: Balances | None = None
    for seen in (refunded, approved, captured):
        merged = merge_balances(merged, seen)
    assert merged == refunded


# --- lone events read what Checkout.com's totals say -------------------------------------

A, S, D = ActionType, ActionStatus.SUCCEEDED, ActionStatus.DECLINED


def entry(kind: ActionType, status: ActionStatus, amount: int | None = None) -> LedgerEntry:
    return LedgerEntry(type=kind, status=status, amount_minor=amount)


def test_lone_capture_with_balances_is_captured() -> None:
    state = fold([entry(A.CAPTURE, S, 20)], amount_minor=0, balances=balances_from(CAPTURED_SAMPLE))
    assert state.status is PaymentStatus.CAPTURED
    assert (state.authorized_minor, state.captured_minor) == (20, 20)
    assert (state.available_to_capture, state.available_to_refund) == (0, 20)


def test_lone_refund_with_balances() -> None:
    full = Balances(total_authorized=200, total_captured=200, total_refunded=200)
    part = Balances(total_authorized=200, total_captured=200, total_refunded=50)
    refund = [entry(A.REFUND, S, 200)]
    assert fold(refund, amount_minor=0, balances=full).status is PaymentStatus.REFUNDED
    state = fold([entry(A.REFUND, S, 50)], amount_minor=0, balances=part)
    assert state.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (state.captured_minor, state.refunded_minor, state.available_to_refund) == (200, 50, 150)


def test_declined_void_and_refund_leave_the_prior_state() -> None:
    held = Balances(total_authorized=20, available_to_capture=20, available_to_void=20)
    state = fold([entry(A.VOID, D, 20)], amount_minor=0, balances=held)
    assert state.status is PaymentStatus.AUTHORIZED
    assert state.available_to_capture == 20
    captured = Balances(total_authorized=3737, total_captured=3737, available_to_refund=3737)
    state = fold([entry(A.REFUND, D, 3737)], amount_minor=0, balances=captured)
    assert state.status is PaymentStatus.CAPTURED


def test_stated_amount_prefers_the_strongest_evidence() -> None:
    refund = entry(A.REFUND, S, 3000)
    auth = entry(A.AUTHORIZATION, S, 10000)
    totals = Balances(total_authorized=9000)
    assert stated_amount([refund], requested_minor=None, balances=None) == 3000
    assert stated_amount([refund], requested_minor=None, balances=totals) == 9000
    assert stated_amount([refund, auth], requested_minor=None, balances=totals) == 10000
    assert stated_amount([refund, auth], requested_minor=12000, balances=totals) == 12000
    assert stated_amount([], requested_minor=None, balances=None) == 0


# --- property: any order, any duplication of any subset, converges ---------------------


@dataclass(frozen=True)
class Observation:
    """One event as the ledger sees it: an action (by id) and the totals it carried."""

    action_id: str
    entry: LedgerEntry
    balances: Balances | None


@st.composite
def lifecycles(draw: st.DrawFn) -> list[Observation]:
    """Approved (maybe after pending), captured in parts, refunded in parts, some declined
    attempts; each event carries the running totals, or (older payloads) none."""
    authorized = draw(st.integers(1, 100_000))
    captures = draw(st.lists(st.integers(1, authorized), max_size=3))
    while sum(captures) > authorized:
        captures.pop()
    total_captured = sum(captures)
    refunds = draw(st.lists(st.integers(1, max(total_captured, 1)), max_size=3))
    while sum(refunds) > total_captured:
        refunds.pop()
    with_totals = draw(st.lists(st.booleans(), min_size=16, max_size=16))
    observations: list[Observation] = []
    captured = refunded = 0

    def add(action_id: str, kind: ActionType, status: ActionStatus, amount: int) -> None:
        closed = captured == authorized
        totals = Balances(
            total_authorized=authorized,
            total_captured=captured,
            total_refunded=refunded,
            available_to_capture=0 if closed else authorized - captured,
            available_to_refund=captured - refunded,
            available_to_void=authorized if captured == 0 else 0,
        )
        carried = totals if with_totals[len(observations) % 16] else None
        observations.append(Observation(action_id, entry(kind, status, amount), carried))

    if draw(st.booleans()):
        observations.append(
            Observation("act_auth", entry(A.AUTHORIZATION, ActionStatus.PENDING, authorized), None)
        )
    add("act_auth", A.AUTHORIZATION, S, authorized)
    for n, amount in enumerate(captures):
        captured += amount
        add(f"act_cap{n}", A.CAPTURE, S, amount)
    if draw(st.booleans()):
        add("act_capd", A.CAPTURE, D, 1)
    for n, amount in enumerate(refunds):
        refunded += amount
        add(f"act_ref{n}", A.REFUND, S, amount)
    if draw(st.booleans()):
        add("act_refd", A.REFUND, D, 1)
    return observations


def replay(observations: list[Observation]) -> tuple[PaymentState, int]:
    """The ledger's merge rules in miniature: one row per action id, forward-only status;
    balances merged; then the fold and the stated amount."""
    ledger: dict[str, LedgerEntry] = {}
    totals: Balances | None = None
    for seen in observations:
        known = ledger.get(seen.action_id)
        if known is None:
            ledger[seen.action_id] = seen.entry
        else:
            status = advance_action_status(known.status, seen.entry.status)
            ledger[seen.action_id] = LedgerEntry(known.type, status, known.amount_minor)
        totals = merge_balances(totals, seen.balances)
    entries = list(ledger.values())
    return (
        fold(entries, amount_minor=0, balances=totals),
        stated_amount(entries, requested_minor=None, balances=totals),
    )


@given(data=st.data(), observations=lifecycles())
def test_any_order_and_duplication_converges_to_the_complete_set(
    data: st.DataObject, observations: list[Observation]
) -> None:
    complete = replay(observations)
    shuffled = data.draw(st.permutations(observations))
    repeated = data.draw(st.lists(st.sampled_from(observations), max_size=8))
    assert replay([*shuffled, *repeated]) == complete
    assert replay([*repeated, *shuffled]) == complete


@given(observations=lifecycles())
def test_totals_alone_state_what_the_ledger_misses(observations: list[Observation]) -> None:
    """With only the last event (the one carrying the furthest totals), the amounts already
    match the complete ledger's whenever that event carries totals."""
    complete, amount = replay(observations)
    last = observations[-1]
    if last.balances is None:
        return
    alone, alone_amount = replay([last])
    assert alone_amount == amount
    assert (alone.captured_minor, alone.refunded_minor) == (
        complete.captured_minor,
        complete.refunded_minor,
    )
    assert alone.status is complete.status
