"""Apply facts to a payment's ledger and re-derive its state — always under the row lock.

Used by payment creation, lifecycle actions and webhook processing alike, so every path
converges on the same fold and the same Salesforce sync task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import RowMapping

from paybridge.domain.balances import Balances, balances_from, merge_balances
from paybridge.domain.facts import ActionFact, payment_placeholder_key
from paybridge.domain.ids import new_id
from paybridge.domain.reconciliation import awaiting_since, given_up, next_check
from paybridge.domain.status import (
    TERMINAL_STATUSES,
    ActionStatus,
    ActionType,
    LedgerEntry,
    PaymentState,
    PaymentStatus,
    advance_action_status,
    fold,
    stated_amount,
)
from paybridge.persistence.uow import UnitOfWork
from paybridge.services.audit import amount_mismatch_row

SYNC_PAYMENT_TASK = "salesforce.sync_payment"
RECONCILE_TASK = "payments.reconcile"
_log = structlog.get_logger(__name__)

# One authorization (or verification) per payment: its facts merge into one row even when
# the first one we saw (a 202 pending) had no action id yet.
_SINGLETON_TYPES = frozenset({ActionType.AUTHORIZATION, ActionType.CARD_VERIFICATION})
_SINGLETON_TYPES_VALUES = frozenset(kind.value for kind in _SINGLETON_TYPES)


def entries_of(actions: Sequence[RowMapping]) -> list[LedgerEntry]:
    return [
        LedgerEntry(
            type=ActionType(row["type"]),
            status=ActionStatus(row["status"]),
            amount_minor=row["amount_minor"],
            final=row["final"],
        )
        for row in actions
    ]


def balances_of(payment: RowMapping) -> Balances | None:
    return balances_from(payment.get("balances"))


def state_of(payment: RowMapping, actions: Sequence[RowMapping]) -> PaymentState:
    return fold(
        entries_of(actions),
        amount_minor=int(payment.get("requested_minor") or 0),
        balances=balances_of(payment),
    )


def _stood_in_for(
    payment: RowMapping, fact: ActionFact, actions: Sequence[RowMapping]
) -> RowMapping | None:
    """The row this fact is another observation of, though keyed differently: the payment's
    single authorization; or, between a placeholder (`pay_…:capture` of an auto-capture)
    and the real `act_…` id its webhook brings, in whichever order they arrive."""
    same_type = [a for a in actions if a["type"] == fact.type.value]
    if fact.type in _SINGLETON_TYPES:
        return same_type[0] if same_type else None
    placeholder = payment_placeholder_key(payment["checkout_payment_id"], fact.type)
    if fact.action_key == placeholder:
        return same_type[0] if same_type else None
    return next((a for a in same_type if a["checkout_action_id"] == placeholder), None)


async def _merge_fact(
    uow: UnitOfWork,
    payment: RowMapping,
    fact: ActionFact,
    actions: Sequence[RowMapping],
    now: datetime,
) -> RowMapping | None:
    """Insert or advance one action row; the row when anything changed, else None."""
    existing = next((a for a in actions if a["checkout_action_id"] == fact.action_key), None)
    if existing is not None and existing["type"] != fact.type.value:
        # One id, two kinds of action: Checkout.com never means that, so neither observation
        # is folded into the other; the row already known stays as it is.
        _log.warning(
            "payment.action.type_conflict",
            checkout_payment_id=payment["checkout_payment_id"],
            checkout_action_id=fact.action_key,
            known_type=existing["type"],
            incoming_type=fact.type.value,
            source=fact.source,
        )
        return None
    if existing is None:
        existing = _stood_in_for(payment, fact, actions)
    if existing is None:
        inserted = await uow.payments.insert_action_if_absent(
            {
                "id": new_id(),
                "payment_id": payment["id"],
                "checkout_action_id": fact.action_key,
                "type": fact.type.value,
                "amount_minor": fact.amount_minor,
                "status": fact.status.value,
                "final": fact.final,
                "response_code": fact.response_code,
                "response_summary": fact.response_summary,
                "reference": fact.reference,
                "source": fact.source,
                "idempotency_key_id": fact.idempotency_key_id,
                "requested_at": fact.requested_at,
                "processed_at": fact.processed_at,
                "created_at": now,
                "updated_at": now,
            }
        )
        if inserted is None:  # under the payment's lock: the id belongs to another payment
            _log.warning(
                "payment.action.id_of_another_payment",
                checkout_payment_id=payment["checkout_payment_id"],
                checkout_action_id=fact.action_key,
                incoming_type=fact.type.value,
                source=fact.source,
            )
        return inserted
    current = ActionStatus(existing["status"])
    merged = advance_action_status(current, fact.status)
    changes: dict[str, Any] = {}
    if merged is not current:
        changes |= {
            "status": merged.value,
            "response_code": fact.response_code or existing["response_code"],
            "response_summary": fact.response_summary or existing["response_summary"],
            "processed_at": fact.processed_at or existing["processed_at"],
        }
    if existing["checkout_action_id"] != fact.action_key and fact.action_key.startswith("act_"):
        changes["checkout_action_id"] = fact.action_key  # a placeholder learns its real id
    for column in ("amount_minor", "final", "reference", "requested_at"):
        if existing[column] is None and getattr(fact, column) is not None:
            changes[column] = getattr(fact, column)
    if _disagrees_with_hold(existing, fact):
        # Checkout.com's figure wins over what paybridge reserved; the gap is an error to see.
        changes["amount_minor"] = fact.amount_minor
        await uow.logs.add(amount_mismatch_row(payment, existing, fact, now=now))
    if not changes:
        return None
    return await uow.payments.update_action(existing["id"], {**changes, "updated_at": now})


def _disagrees_with_hold(existing: RowMapping, fact: ActionFact) -> bool:
    """A fact from Checkout.com (webhook, lookup) whose amount differs from the one the API
    reserved for this action."""
    return (
        fact.source != "api"
        and existing["source"] == "api"
        and fact.amount_minor is not None
        and existing["amount_minor"] is not None
        and fact.amount_minor != existing["amount_minor"]
    )


def _with_row(actions: Sequence[RowMapping], row: RowMapping) -> list[RowMapping]:
    """The ledger with `row` added or replaced, in the order the database lists it."""
    kept = [action for action in actions if action["id"] != row["id"]]
    return sorted([*kept, row], key=lambda action: (action["created_at"], action["id"]))


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply_facts_to` left: the derived state, the payment row as it now stands and
    its ledger — so a caller answering with the payment need not read them back."""

    state: PaymentState
    payment: RowMapping
    actions: Sequence[RowMapping]


async def apply_facts(
    uow: UnitOfWork,
    payment: RowMapping,
    facts: Sequence[ActionFact],
    *,
    now: datetime,
    extra: dict[str, Any] | None = None,
    balances: Balances | None = None,
    actions: Sequence[RowMapping] | None = None,
) -> PaymentState:
    """Merge `facts` (and Checkout.com's `balances`, when the news carries them), re-fold,
    and when anything changed bump the version and enqueue the Salesforce sync. `payment`
    must have been read `for_update` in this transaction. `actions`: its ledger, when the
    caller knows it without asking (a payment created in this transaction has none)."""
    applied = await apply_facts_to(
        uow, payment, facts, now=now, extra=extra, balances=balances, actions=actions
    )
    return applied.state


async def apply_facts_to(
    uow: UnitOfWork,
    payment: RowMapping,
    facts: Sequence[ActionFact],
    *,
    now: datetime,
    extra: dict[str, Any] | None = None,
    balances: Balances | None = None,
    actions: Sequence[RowMapping] | None = None,
) -> Applied:
    """`apply_facts`, answering with the row and ledger too."""
    values = dict(extra or {})
    changed = bool(values)
    if actions is None:
        actions = await uow.payments.list_actions(payment["id"])
    for fact in facts:
        row = await _merge_fact(uow, payment, fact, actions, now)
        if row is not None:
            changed = True
            actions = _with_row(actions, row)
    known = balances_of(payment)
    merged = merge_balances(known, balances)
    if merged != known and merged is not None:
        values["balances"] = merged.as_json()
        changed = True
    requested = values.get("requested_minor", payment.get("requested_minor"))
    entries = entries_of(actions)
    state = fold(entries, amount_minor=int(requested or 0), balances=merged)
    amount = stated_amount(entries, requested_minor=requested, balances=merged)
    if amount != payment["amount_minor"]:
        values["amount_minor"] = amount
    stored = PaymentStatus(payment["status"])
    if stored in TERMINAL_STATUSES and state.status is not stored:
        # A fact that contradicts a final state (a late or impossible event) is kept in the
        # ledger for the record, but the status does not move.
        _log.warning(
            "payment.status.regression_refused",
            checkout_payment_id=payment["checkout_payment_id"],
            stored=stored.value,
            derived=state.status.value,
        )
        state = replace(state, status=stored)
    if changed or values or state.status.value != payment["status"]:
        payment = await uow.payments.bump(
            payment["id"],
            {
                "status": state.status.value,
                "authorized_minor": state.authorized_minor,
                "captured_minor": state.captured_minor,
                "refunded_minor": state.refunded_minor,
                "updated_at": now,
                **values,
            },
        )
        await enqueue_sync(uow, payment["id"], now=now)
    since = _awaiting_since(state.status, payment, actions)
    if since is not None and not given_up(now, since):
        await uow.outbox.enqueue_or_bring_forward(
            RECONCILE_TASK,
            {"payment_id": payment["id"]},
            dedupe_key=f"reconcile:{payment['id']}",
            run_at=next_check(now, since),
            now=now,
        )
    return Applied(state, payment, actions)


def awaiting_since_of(payment: RowMapping, actions: Sequence[RowMapping]) -> datetime | None:
    """When the newest outcome the payment still waits for began (None: it waits for none)."""
    return _awaiting_since(PaymentStatus(payment["status"]), payment, actions)


def _awaiting_since(
    status: PaymentStatus, payment: RowMapping, actions: Sequence[RowMapping]
) -> datetime | None:
    # Once the payment is past Pending (approved, paid, declined…) its authorization is
    # settled whatever its own row still says: an APM confirmed only by `payment_paid` awaits
    # nothing more.
    settled = status is not PaymentStatus.PENDING
    awaited = [
        (ActionStatus(action["status"]), action["requested_at"] or action["created_at"])
        for action in actions
        if not (settled and action["type"] in _SINGLETON_TYPES_VALUES)
    ]
    return awaiting_since(status, payment["created_at"], awaited)


async def enqueue_sync(uow: UnitOfWork, payment_id: str, *, now: datetime) -> None:
    await uow.outbox.enqueue(
        SYNC_PAYMENT_TASK, {"payment_id": payment_id}, now=now, dedupe_key=f"sync:{payment_id}"
    )
