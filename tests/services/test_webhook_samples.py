"""Checkout.com's own webhook samples through the signed HTTP route: alone, shuffled, and
payments paybridge did not create, stated from what each event carries (DESIGN §4)."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from paybridge.container import Container
from paybridge.domain.ids import new_id
from paybridge.persistence.repositories.outbox import outbox_row
from paybridge.persistence.tables import inbound_events, outbox
from paybridge.services.ledger import RECONCILE_TASK, awaiting_since_of
from paybridge.services.webhooks import PROCESS_TASK
from paybridge.worker.tasks import build_worker
from tests.checkout_webhook_samples import balances, derived, sample, sample_names
from tests.conftest import truncate_all
from tests.webhook_events import event, signed

URL = "/v1/webhooks/checkout"


async def deliver(client: httpx.AsyncClient, container: Container, body: dict[str, Any]) -> None:
    """One signed delivery, processed before the next one arrives."""
    raw, headers = signed(body)
    response = await client.post(URL, content=raw, headers=headers)
    assert response.status_code == 200, response.text
    await build_worker(container).drain()


async def payment(client: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/payments/{payment_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def figures(body: dict[str, Any]) -> dict[str, Any]:
    amounts = body["amounts"]
    return {
        "status": body["status"],
        "amount": body["amount"],
        "currency": body["currency"],
        "authorized": amounts["authorized"],
        "captured": amounts["captured"],
        "refunded": amounts["refunded"],
        "available_to_capture": amounts["available_to_capture"],
        "available_to_refund": amounts["available_to_refund"],
    }


def expect(status: str, amount: str, currency: str, **amounts: str) -> dict[str, Any]:
    zero = "0.00"
    return {
        "status": status,
        "amount": amount,
        "currency": currency,
        "authorized": amounts.get("authorized", zero),
        "captured": amounts.get("captured", zero),
        "refunded": amounts.get("refunded", zero),
        "available_to_capture": amounts.get("available_to_capture", zero),
        "available_to_refund": amounts.get("available_to_refund", zero),
    }


# Each published sample alone, as read from its payload (minor units ÷ 100 for EUR/GBP/USD):
# `data.amount` gives the amount; `data.balances`, where present, the totals.
ALONE = {
    # approved, data.amount 10000: authorized in full, nothing captured yet
    "payment_approved": expect(
        "Authorized", "100.00", "EUR", authorized="100.00", available_to_capture="100.00"
    ),
    "payment_declined": expect("Declined", "0.05", "EUR"),
    # balances: authorized 20, captured 20, available_to_capture 0, available_to_refund 20
    "payment_captured": expect(
        "Captured", "0.20", "EUR", authorized="0.20", captured="0.20", available_to_refund="0.20"
    ),
    # no balances, no approval seen: the capture's outcome is awaited, nothing is settled
    "payment_capture_pending": expect("Pending", "1.00", "EUR"),
    "payment_capture_declined": expect("Pending", "65.40", "USD"),
    # balances: authorized 20, voided 20
    "payment_voided": expect("Voided", "0.20", "EUR", authorized="0.20"),
    # balances: authorized 20, available_to_capture 20: the void failed, the money stays held
    "payment_void_declined": expect(
        "Authorized", "0.20", "EUR", authorized="0.20", available_to_capture="0.20"
    ),
    # balances: authorized = captured = refunded = 200
    "payment_refunded": expect(
        "Refunded", "2.00", "GBP", authorized="2.00", captured="2.00", refunded="2.00"
    ),
    "payment_refund_pending": expect("Pending", "1.00", "EUR"),
    # balances: captured 3737, refunded 0, available_to_refund 3737
    "payment_refund_declined": expect(
        "Captured",
        "37.37",
        "EUR",
        authorized="37.37",
        captured="37.37",
        available_to_refund="37.37",
    ),
    "payment_canceled": expect("Canceled", "2.00", "EUR"),
    "payment_expired": expect("Expired", "3.00", "EUR"),
}
PAYOUT = "payout_payment_paid"


def test_every_published_sample_has_an_expectation() -> None:
    assert sorted([*ALONE, PAYOUT]) == sample_names()


@pytest.mark.parametrize("name", sorted(ALONE))
async def test_each_sample_alone(
    client: httpx.AsyncClient, container: Container, name: str
) -> None:
    body = sample(name)
    await deliver(client, container, body)

    state = await payment(client, body["data"]["id"])
    assert figures(state) == ALONE[name]
    # The action is keyed by Checkout.com's own action id (canceled and expired included).
    assert [a["action_id"] for a in state["actions"]] == [body["data"]["action_id"]]
    assert state["reference"] == body["data"].get("reference")


@pytest.mark.parametrize("name", [n for n in sorted(ALONE) if "balances" in sample(n)["data"]])
async def test_balances_are_checkout_coms_figures(
    client: httpx.AsyncClient, container: Container, name: str
) -> None:
    body = sample(name)
    await deliver(client, container, body)

    totals = body["data"]["balances"]
    amounts = (await payment(client, body["data"]["id"]))["amounts"]

    def major(minor: int) -> str:
        return f"{minor / 100:.2f}"  # the samples' currencies have 2 decimals

    assert amounts["authorized"] == major(totals["total_authorized"])
    assert amounts["captured"] == major(totals["total_captured"])
    assert amounts["refunded"] == major(totals["total_refunded"])
    assert amounts["available_to_capture"] == major(totals["available_to_capture"])
    assert amounts["available_to_refund"] == major(totals["available_to_refund"])


@pytest.mark.parametrize("seed", [1, 2, 3, "reversed"])
async def test_all_samples_shuffled_state_each_as_alone(
    client: httpx.AsyncClient, container: Container, seed: int | str
) -> None:
    await truncate_all(container.engine)
    names = sample_names()
    if seed == "reversed":
        names.reverse()
    else:
        random.Random(seed).shuffle(names)
    for name in [*names, *names[:4]]:  # and a few redeliveries
        await deliver(client, container, sample(name))

    for name, expected in ALONE.items():
        assert figures(await payment(client, sample(name)["data"]["id"])) == expected, name


async def test_payout_is_stored_acknowledged_and_ignored(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = sample(PAYOUT)  # Checkout.com's payment_paid sample: a payout to a bank account
    raw, headers = signed(body)
    response = await client.post(URL, content=raw, headers=headers)
    assert response.status_code == 200
    assert await build_worker(container).drain() == 0  # nothing to process

    async with container.engine.connect() as conn:
        stored = (
            (
                await conn.execute(
                    select(inbound_events).where(inbound_events.c.event_id == body["id"])
                )
            )
            .mappings()
            .one()
        )
    assert stored["status"] == "ignored"
    assert "payout" in stored["error"]
    assert bytes(stored["raw_body"]) == raw
    missing = await client.get(f"/v1/payments/{body['data']['id']}")
    assert missing.status_code == 404


# --- one payment paybridge did not create, delivered in any order -------------------------

PID = "pay_waji5li3mqtetnaor77xmow4bq"  # the payment of the payment_approved sample


def lifecycle(*, with_balances: bool) -> list[dict[str, Any]]:
    """Approved → captured in full → refunded 30.00, for the payment of the payment_approved
    sample: the capture is derived from the payment_captured sample and the refund from the
    payment_refunded sample (payment id, action id, amount, currency and balances changed)."""
    captured = balances(authorized=10000, captured=10000, capture_closed=True)
    refunded = balances(authorized=10000, captured=10000, refunded=3000, capture_closed=True)
    drop = () if with_balances else ("balances",)
    return [
        sample("payment_approved"),
        derived(
            "payment_captured",
            event_id="evt_derivedcapture000000000000",
            payment_id=PID,
            action_id="act_derivedcapture000000000000",
            amount=10000,
            balances=captured,
            drop=drop,
        ),
        derived(
            "payment_refunded",
            event_id="evt_derivedrefund0000000000000",
            payment_id=PID,
            action_id="act_derivedrefund0000000000000",
            amount=3000,
            balances=refunded,
            currency="EUR",
            drop=drop,
        ),
    ]


LIFECYCLE_END = expect(
    "Partially Refunded",
    "100.00",
    "EUR",
    authorized="100.00",
    captured="100.00",
    refunded="30.00",
    available_to_refund="70.00",
)


@pytest.mark.parametrize("with_balances", [True, False], ids=["balances", "no-balances"])
@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=str)
async def test_any_delivery_order_gives_the_in_order_state(
    client: httpx.AsyncClient,
    container: Container,
    order: tuple[int, ...],
    with_balances: bool,
) -> None:
    await truncate_all(container.engine)
    events = lifecycle(with_balances=with_balances)
    for index in order:
        await deliver(client, container, events[index])

    assert figures(await payment(client, PID)) == LIFECYCLE_END


async def test_reversed_delivery_states_the_amount_from_the_first_event(
    client: httpx.AsyncClient, container: Container
) -> None:
    refund = lifecycle(with_balances=True)[2]
    await deliver(client, container, refund)

    # The refund alone already carries Checkout.com's totals: the amount is not 0.00.
    assert figures(await payment(client, PID)) == LIFECYCLE_END


# --- what an event states that paybridge did not expect ---------------------------------


async def test_action_id_naming_another_kind_of_action_is_a_conflict(
    client: httpx.AsyncClient, container: Container
) -> None:
    approved = sample("payment_approved")
    clash = derived(  # from the payment_captured sample: the approval's action id, no balances
        "payment_captured",
        event_id="evt_derivedclash00000000000000",
        payment_id=PID,
        action_id=approved["data"]["action_id"],
        amount=10000,
        drop=("balances",),
    )
    await deliver(client, container, approved)
    with capture_logs() as logs:
        await deliver(client, container, clash)

    state = await payment(client, PID)
    assert state["status"] == "Authorized"
    assert state["amounts"]["captured"] == "0.00"
    assert [(a["type"], a["status"]) for a in state["actions"]] == [("authorization", "Succeeded")]
    conflicts = [log for log in logs if log["event"] == "payment.action.type_conflict"]
    assert conflicts == [
        {
            "event": "payment.action.type_conflict",
            "log_level": "warning",
            "checkout_payment_id": PID,
            "checkout_action_id": approved["data"]["action_id"],
            "known_type": "authorization",
            "incoming_type": "capture",
            "source": "webhook",
        }
    ]


def apm_paid(payment_id: str) -> dict[str, Any]:
    """Derived from the payout_payment_paid sample: an iDEAL payment instead of a payout
    (no `destination`, an APM `source`), for one payment."""
    return derived(
        PAYOUT,
        event_id=f"evt_derivedpaid_{payment_id[-10:]}",
        payment_id=payment_id,
        action_id=f"act_derivedpaid_{payment_id[-10:]}",
        amount=2500,
        currency="EUR",
        reference="ORD-5023-4E89",
        source={"type": "ideal"},
        drop=("destination", "instruction"),
    )


async def reconcile_tasks(container: Container) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(select(outbox).where(outbox.c.kind == RECONCILE_TASK))
        return [dict(row) for row in rows.mappings()]


async def test_apm_confirmed_only_by_payment_paid_is_settled(
    client: httpx.AsyncClient, container: Container
) -> None:
    await deliver(client, container, apm_paid("pay_derivedapmpaidalone00000"))

    state = await payment(client, "pay_derivedapmpaidalone00000")
    assert figures(state) == expect(
        "Captured",
        "25.00",
        "EUR",
        authorized="25.00",
        captured="25.00",
        available_to_refund="25.00",
    )
    assert await reconcile_tasks(container) == []


async def test_apm_pending_then_paid_awaits_nothing_more(
    client: httpx.AsyncClient, container: Container
) -> None:
    pid = "pay_derivedapmpendingpaid000"
    # The pending authorization (hand-written, tests/webhook_events.py: no published sample).
    await deliver(client, container, event("payment_pending", pid, action_id=None, amount=2500))
    assert len(await reconcile_tasks(container)) == 1  # a Pending payment is awaited

    await deliver(client, container, apm_paid(pid))

    assert (await payment(client, pid))["status"] == "Captured"
    async with container.uow() as uow:
        row = await uow.payments.get_by_checkout_id(pid)
        assert row is not None
        actions = await uow.payments.list_actions(row["id"])
    assert awaiting_since_of(row, actions) is None  # its due check will ask nothing


async def test_payout_stored_before_paybridge_told_payouts_apart_is_not_applied(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = sample(PAYOUT)
    now = container.clock()
    row_id = new_id()
    async with container.uow() as uow:  # as an earlier intake stored it
        await uow.events.insert_with_task(
            {
                "id": row_id,
                "source": "checkout",
                "event_id": body["id"],
                "type": body["type"],
                "subject_id": body["data"]["id"],
                "raw_body": json.dumps(body).encode(),
                "signature_verified": True,
                "status": "received",
                "error": None,
                "occurred_at": now,
                "received_at": now,
                "handled_at": None,
            },
            outbox_row(PROCESS_TASK, {"event_row_id": row_id}, now=now),
        )
        await uow.commit()

    assert await build_worker(container).drain() == 1
    assert (await client.get(f"/v1/payments/{body['data']['id']}")).status_code == 404
    async with container.uow() as uow:
        stored = await uow.events.get(row_id)
    assert stored is not None
    assert (stored["status"], stored["handled_at"] is not None) == ("ignored", True)
    assert "payout" in stored["error"]


async def test_cancel_without_an_action_id_is_not_keyed_by_the_event(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = derived(  # from the payment_canceled sample, as older payloads came: no action_id
        "payment_canceled",
        event_id="evt_derivedcancelnoaction00000",
        payment_id="pay_derivedcancelnoaction000",
        drop=("action_id",),
    )
    await deliver(client, container, body)

    state = await payment(client, "pay_derivedcancelnoaction000")
    assert state["status"] == "Canceled"
    # Keyed as reconciliation keys the payment's own outcome; such keys are never mirrored.
    assert [a["action_id"] for a in state["actions"]] == [
        "pay_derivedcancelnoaction000:cancellation"
    ]


async def test_action_id_of_another_payment_is_not_taken_over(
    client: httpx.AsyncClient, container: Container
) -> None:
    approved = sample("payment_approved")
    other = derived(  # from the payment_captured sample: another payment, the approval's id
        "payment_captured",
        event_id="evt_derivedotherpayment0000000",
        payment_id="pay_derivedotherpayment00000",
        action_id=approved["data"]["action_id"],
        drop=("balances",),
    )
    await deliver(client, container, approved)
    with capture_logs() as logs:
        await deliver(client, container, other)

    assert (await payment(client, PID))["actions"][0]["type"] == "authorization"
    assert (await payment(client, "pay_derivedotherpayment00000"))["actions"] == []
    assert [log["event"] for log in logs if log["log_level"] == "warning"] == [
        "payment.action.id_of_another_payment"
    ]
