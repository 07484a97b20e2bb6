"""Checkout.com does the work but its answer never arrives (paybridge's read timeout fires):
paybridge retries with the same `Cko-Idempotency-Key`, the caller retries with the same
`Idempotency-Key`, the worker finishes what nobody retried — and there is one charge, one
capture, one refund at Checkout.com."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.checks import (
    assert_events_handled_once,
    assert_mirrored,
    assert_no_duplicate_keys,
    assert_one_key,
    charges_at_checkout,
    checkout_keys,
    payment_when,
    settled,
)
from tests.e2e.client import PaybridgeClient, action_event, new_order, order_payment
from tests.e2e.harness import FAST_SETTINGS, Stack

# Every attempt paybridge makes within one call (PAYBRIDGE_CHECKOUT__MAX_ATTEMPTS).
ATTEMPTS = int(FAST_SETTINGS["PAYBRIDGE_CHECKOUT__MAX_ATTEMPTS"])
UPSTREAM_FAILURES = {502, 503, 504}


@pytest.fixture(scope="module")
async def api(stack: Stack) -> AsyncIterator[PaybridgeClient]:
    server = await stack.serve("api")
    client = PaybridgeClient(server.base_url)
    yield client
    await client.aclose()


async def lose(stack: Stack, count: int, match: str) -> None:
    await stack.sims.checkout_faults(lose_next=count, match=match)


async def new_authorization(stack: Stack, api: PaybridgeClient) -> tuple[str, str, dict[str, Any]]:
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    created = await api.create(order_payment(order_id, number), key=f"create-{number}")
    assert created.status_code == 201, created.text
    return order_id, number, created.json()


def actions_at_checkout(state: dict[str, Any], pid: str, kind: str) -> list[dict[str, Any]]:
    return [a for a in state["payments"][pid]["actions"] if a["type"] == kind]


async def test_one_lost_answer_is_retried_inside_the_call(
    stack: Stack, api: PaybridgeClient
) -> None:
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    await lose(stack, 1, "POST /payments")

    created = await api.create(order_payment(order_id, number), key=f"create-{number}")

    assert created.status_code == 201, created.text
    cko = await stack.sims.checkout_state()
    assert cko["lose_next"] == 0
    (charge,) = charges_at_checkout(cko, number)
    assert charge["id"] == created.json()["payment_id"]
    keys = [r["idempotency_key"] for r in cko["requests"] if r["reference"] == number]
    assert_one_key(keys, requests=2)
    pid = charge["id"]
    view = (await settled(stack, api, [pid]))[pid]
    assert_mirrored(await stack.sims.salesforce_state(), view, order_id=order_id)


async def test_create_and_capture_time_out_and_the_caller_retries(
    stack: Stack, api: PaybridgeClient
) -> None:
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    body = order_payment(order_id, number)
    await lose(stack, ATTEMPTS, "POST /payments")

    failed = await api.create(body, key=f"create-{number}")
    assert failed.status_code in UPSTREAM_FAILURES, failed.text
    retried = await api.create(body, key=f"create-{number}")

    assert retried.status_code == 201, retried.text
    view = retried.json()
    pid = view["payment_id"]
    assert view["status"] == "Authorized"
    cko = await stack.sims.checkout_state()
    assert [c["id"] for c in charges_at_checkout(cko, number)] == [pid]
    keys = [r["idempotency_key"] for r in cko["requests"] if r["reference"] == number]
    assert_one_key(keys, requests=ATTEMPTS + 1)

    await lose(stack, ATTEMPTS, r"POST /payments/[^/]+/captures")
    failed = await api.act(pid, "captures", key=f"capture-{number}", amount=100)
    assert failed.status_code in UPSTREAM_FAILURES, failed.text
    retried = await api.act(pid, "captures", key=f"capture-{number}", amount=100)
    assert retried.status_code == 202, retried.text
    capture_id = retried.json()["action_id"]
    cko = await stack.sims.checkout_state()
    assert [a["id"] for a in actions_at_checkout(cko, pid, "capture")] == [capture_id]
    keys = checkout_keys(cko, "POST", f"/payments/{pid}/captures")
    assert_one_key(keys, requests=ATTEMPTS + 1)

    captured = action_event("payment_captured", view, action_id=capture_id, amount_minor=10000)
    assert await api.deliver_ok(captured) == "accepted"
    # Settling includes the recovery tasks the timeouts left: they find the work finished.
    final = (await settled(stack, api, [pid]))[pid]
    assert final["status"] == "Captured"
    assert sorted((a["type"], a["status"], a["amount"]) for a in final["actions"]) == [
        ("authorization", "Succeeded", "149.90"),
        ("capture", "Succeeded", "100.00"),
    ]
    cko = await stack.sims.checkout_state()
    assert len(charges_at_checkout(cko, number)) == 1
    assert len(actions_at_checkout(cko, pid, "capture")) == 1
    state = await stack.sims.salesforce_state()
    assert_mirrored(state, final, order_id=order_id)
    assert_no_duplicate_keys(state)
    await assert_events_handled_once(stack, [captured["id"]])
    recoveries = await stack.db.fetch(
        "SELECT kind, status FROM outbox WHERE kind LIKE 'payments.recover_%'"
    )
    assert {(r["kind"], r["status"]) for r in recoveries} >= {
        ("payments.recover_create", "done"),
        ("payments.recover_action", "done"),
    }


async def test_refund_timed_out_and_never_retried_is_finished_by_the_worker(
    stack: Stack, api: PaybridgeClient
) -> None:
    order_id, number, view = await new_authorization(stack, api)
    pid = view["payment_id"]
    capture = await api.act(pid, "captures", key=f"capture-{number}")
    assert capture.status_code == 202, capture.text
    captured = action_event(
        "payment_captured", view, action_id=capture.json()["action_id"], amount_minor=14990
    )
    assert await api.deliver_ok(captured) == "accepted"
    await payment_when(api, pid, lambda v: v["status"] == "Captured", what="capture applied")
    await lose(stack, ATTEMPTS, r"POST /payments/[^/]+/refunds")

    failed = await api.act(pid, "refunds", key=f"refund-{number}", amount=50)
    assert failed.status_code in UPSTREAM_FAILURES, failed.text

    # Salesforce never retries: the worker finishes the refund with the same Cko key.
    recovered = await payment_when(
        api,
        pid,
        lambda v: any(
            a["type"] == "refund" and a["action_id"].startswith("act_") for a in v["actions"]
        ),
        what="the refund recovered by the worker",
        timeout_s=30,
    )
    refund_id = next(a["action_id"] for a in recovered["actions"] if a["type"] == "refund")
    cko = await stack.sims.checkout_state()
    assert [a["id"] for a in actions_at_checkout(cko, pid, "refund")] == [refund_id]
    keys = checkout_keys(cko, "POST", f"/payments/{pid}/refunds")
    assert_one_key(keys, requests=ATTEMPTS + 1)
    refunded = action_event("payment_refunded", view, action_id=refund_id, amount_minor=5000)
    assert await api.deliver_ok(refunded) == "accepted"
    # The caller's belated retry gets the recovered answer, not a second refund.
    late = await api.act(pid, "refunds", key=f"refund-{number}", amount=50)
    assert (late.status_code, late.json()["action_id"]) == (202, refund_id), late.text

    final = (await settled(stack, api, [pid]))[pid]
    assert (final["status"], final["amounts"]["refunded"]) == ("Partially Refunded", "50.00")
    cko = await stack.sims.checkout_state()
    assert len(actions_at_checkout(cko, pid, "refund")) == 1
    state = await stack.sims.salesforce_state()
    assert_mirrored(state, final, order_id=order_id)
    assert_no_duplicate_keys(state)
    await assert_events_handled_once(stack, [captured["id"], refunded["id"]])
