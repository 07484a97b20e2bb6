"""Checkout.com delivers at least once and in no particular order: every webhook three times
at once, the lifecycle backwards — one effect each, the same final state."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.checks import (
    action_at_checkout,
    assert_events_handled_once,
    assert_events_once,
    assert_mirrored,
    payment_when,
    settled,
)
from tests.e2e.client import PaybridgeClient, action_event, new_order, order_payment
from tests.e2e.harness import Stack
from tests.webhook_events import event

COPIES = 3


@pytest.fixture(scope="module")
async def api(stack: Stack) -> AsyncIterator[PaybridgeClient]:
    # Patient with Checkout.com: a held answer must not turn into a timeout here.
    server = await stack.serve("api", env={"PAYBRIDGE_CHECKOUT__READ_TIMEOUT_S": "10"})
    client = PaybridgeClient(server.base_url)
    yield client
    await client.aclose()


def at(second: int) -> str:
    return f"2026-11-28T12:00:{second:02d}.0000000Z"


async def deliver_all_at_once(api: PaybridgeClient, events: list[dict[str, Any]]) -> None:
    """Every event `COPIES` times, all concurrently, started in the order given; each event
    is acknowledged once as new and otherwise as a duplicate."""
    copies = [body for body in events for _ in range(COPIES)]
    responses = await asyncio.gather(*(api.deliver(body) for body in copies))
    receipts: dict[str, Counter[str]] = {}
    for response in responses:
        assert response.status_code == 200, response.text
        ack = response.json()
        receipts.setdefault(ack["event_id"], Counter())[ack["status"]] += 1
    expected = Counter({"accepted": 1, "duplicate": COPIES - 1})
    assert receipts == {body["id"]: expected for body in events}


async def test_unknown_payment_whose_lifecycle_arrives_backwards_in_triplicate(
    stack: Stack, api: PaybridgeClient
) -> None:
    """A payment made outside paybridge (its metadata names the Order): refund first,
    authorization last, each three times at once."""
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    pid = f"pay_outside{number.removeprefix('E2E-').lower()}"
    common: dict[str, Any] = {
        "reference": number,
        "metadata": {"sf_order_id": order_id, "sf_account_id": "0015g00000XyZaBAAV"},
    }
    lifecycle = [
        event(
            "payment_approved",
            pid,
            action_id=f"act_auth{number}",
            amount=14990,
            created_on=at(1),
            **common,
        ),
        event(
            "payment_captured",
            pid,
            action_id=f"act_cap1{number}",
            amount=10000,
            created_on=at(2),
            **common,
        ),
        event(
            "payment_captured",
            pid,
            action_id=f"act_cap2{number}",
            amount=4990,
            created_on=at(3),
            **common,
        ),
        event(
            "payment_refunded",
            pid,
            action_id=f"act_ref1{number}",
            amount=3000,
            created_on=at(4),
            **common,
        ),
    ]

    await deliver_all_at_once(api, list(reversed(lifecycle)))

    ids = [body["id"] for body in lifecycle]
    view = (await settled(stack, api, [pid]))[pid]
    assert (view["status"], view["amount"], view["order_id"]) == (
        "Partially Refunded",
        "149.90",
        order_id,
    )
    assert (view["amounts"]["captured"], view["amounts"]["refunded"]) == ("149.90", "30.00")
    assert len(view["actions"]) == 4
    state = await stack.sims.salesforce_state()
    assert_mirrored(state, view, order_id=order_id)
    await assert_events_once(stack, state, ids)


async def test_known_payment_webhooks_reversed_duplicated_and_late(
    stack: Stack, api: PaybridgeClient
) -> None:
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    created = await api.create(order_payment(order_id, number), key=f"create-{number}")
    assert created.status_code == 201, created.text
    view = created.json()
    pid = view["payment_id"]
    authorization = next(a["action_id"] for a in view["actions"] if a["type"] == "authorization")
    first = await api.act(pid, "captures", key=f"capture-1-{number}", amount=100, final=False)
    second = await api.act(pid, "captures", key=f"capture-2-{number}")
    assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
    captures = [
        action_event(
            "payment_captured",
            view,
            action_id=first.json()["action_id"],
            amount_minor=10000,
            created_on=at(2),
        ),
        action_event(
            "payment_captured",
            view,
            action_id=second.json()["action_id"],
            amount_minor=4990,
            created_on=at(3),
        ),
    ]
    await deliver_all_at_once(api, list(reversed(captures)))
    await payment_when(api, pid, lambda v: v["status"] == "Captured", what="captures applied")

    refund = await api.act(pid, "refunds", key=f"refund-{number}", amount="20.00")
    assert refund.status_code == 202, refund.text
    refunded = action_event(
        "payment_refunded",
        view,
        action_id=refund.json()["action_id"],
        amount_minor=2000,
        created_on=at(4),
    )
    # The refund's confirmation and, late, the authorization's own event.
    approved = action_event(
        "payment_approved", view, action_id=authorization, amount_minor=14990, created_on=at(1)
    )
    await deliver_all_at_once(api, [refunded, approved])
    # Checkout.com retrying deliveries it already made changes nothing.
    for body in captures:
        assert await api.deliver_ok(body) == "duplicate"

    ids = [body["id"] for body in (*captures, refunded, approved)]
    final = (await settled(stack, api, [pid]))[pid]
    assert final["status"] == "Partially Refunded"
    assert (final["amounts"]["captured"], final["amounts"]["refunded"]) == ("149.90", "20.00")
    assert sorted((a["type"], a["status"], a["amount"]) for a in final["actions"]) == [
        ("authorization", "Succeeded", "149.90"),
        ("capture", "Succeeded", "100.00"),
        ("capture", "Succeeded", "49.90"),
        ("refund", "Succeeded", "20.00"),
    ]
    state = await stack.sims.salesforce_state()
    assert_mirrored(state, final, order_id=order_id)
    await assert_events_once(stack, state, ids)


async def test_capture_webhook_overtaking_the_capture_answer(
    stack: Stack, api: PaybridgeClient
) -> None:
    """Checkout.com's `payment_captured` is applied before paybridge has recorded the
    answer to its own capture request: one capture in the ledger, still the final one."""
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    created = await api.create(order_payment(order_id, number), key=f"create-{number}")
    assert created.status_code == 201, created.text
    view = created.json()
    pid = view["payment_id"]
    await stack.sims.checkout_faults(hold_next=1, match=r"POST /payments/[^/]+/captures")
    capture = asyncio.create_task(api.act(pid, "captures", key=f"capture-{number}", amount=100))
    try:
        action_id = await action_at_checkout(stack, pid)
        webhook = action_event("payment_captured", view, action_id=action_id, amount_minor=10000)
        assert await api.deliver_ok(webhook) == "accepted"
        await payment_when(
            api,
            pid,
            lambda v: any(a["action_id"] == action_id for a in v["actions"]),
            what="the webhook applied while the capture is unanswered",
        )
    finally:
        await stack.sims.checkout_faults(release=True)
    answer = await capture
    assert (answer.status_code, answer.json()["action_id"]) == (202, action_id), answer.text

    final = (await settled(stack, api, [pid]))[pid]
    assert sorted(
        (a["action_id"], a["type"], a["status"], a["amount"]) for a in final["actions"]
    ) == sorted(
        [
            (view["actions"][0]["action_id"], "authorization", "Succeeded", "149.90"),
            (action_id, "capture", "Succeeded", "100.00"),
        ]
    )
    # A final capture (the default) closes the authorization: nothing left to capture.
    assert (final["status"], final["amounts"]["available_to_capture"]) == ("Captured", "0.00")
    state = await stack.sims.salesforce_state()
    assert_mirrored(state, final, order_id=order_id)
    await assert_events_handled_once(stack, [webhook["id"]])
