"""Webhook processing: the ledger converges whatever the order, duplicates or crashes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from paybridge.container import Container
from paybridge.persistence.tables import payments
from paybridge.worker.runner import Worker
from paybridge.worker.tasks import build_worker
from tests.api.payloads import payment_body
from tests.checkout_webhook_samples import balances
from tests.conftest import ShiftedClock
from tests.webhook_events import event, signed

URL = "/v1/webhooks/checkout"


async def deliver(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    raw, headers = signed(body)
    response = await client.post(URL, content=raw, headers=headers)
    assert response.status_code == 200, response.text


async def state(client: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/payments/{payment_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_capture_confirmed_by_webhook(
    client: httpx.AsyncClient, container: Container
) -> None:
    created = await client.post(
        "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "key-wh-capture"}
    )
    pid = created.json()["payment_id"]
    capture = await client.post(
        f"/v1/payments/{pid}/captures",
        json={"amount": 100},
        headers={"Idempotency-Key": "key-wh-c1"},
    )
    action_id = capture.json()["action_id"]

    await deliver(client, event("payment_captured", pid, action_id=action_id, amount=10000))
    assert await build_worker(container).drain() == 1

    body = await state(client, pid)
    assert body["status"] == "Captured"  # a Final capture closes the authorization
    assert body["amounts"]["captured"] == "100.00"
    capture_row = [a for a in body["actions"] if a["type"] == "capture"]
    assert len(capture_row) == 1
    assert capture_row[0]["status"] == "Succeeded"
    assert capture_row[0]["action_id"] == action_id


async def test_unknown_payment_is_created_from_the_event(
    client: httpx.AsyncClient, container: Container
) -> None:
    metadata = {"sf_order_id": "8015g00000AbCdEAAV", "sf_account_id": "0015g00000XyZaBAAV"}
    await deliver(
        client,
        event(
            "payment_captured",
            "pay_fromdashboard",
            action_id="act_x1",
            amount=2500,
            metadata=metadata,
        ),
    )
    await build_worker(container).drain()

    body = await state(client, "pay_fromdashboard")
    # The capture overtook the approval: captured money is known, the authorized total not yet.
    assert body["status"] == "Partially Captured"
    assert body["amounts"]["captured"] == "25.00"
    assert body["order_id"] == "8015g00000AbCdEAAV"

    await deliver(
        client, event("payment_approved", "pay_fromdashboard", action_id="act_x0", amount=2500)
    )
    await build_worker(container).drain()
    body = await state(client, "pay_fromdashboard")
    assert body["status"] == "Captured"
    assert body["amount"] == "25.00"
    assert body["reference"] == "00000100"
    assert body["salesforce"]["version"] > body["salesforce"]["synced_version"]


async def test_terminal_status_survives_late_events(
    client: httpx.AsyncClient, container: Container
) -> None:
    pid = "pay_latevents"
    await deliver(client, event("payment_approved", pid, action_id="act_auth"))
    await deliver(client, event("payment_voided", pid, action_id="act_void"))
    await build_worker(container).drain()
    await deliver(client, event("payment_pending", pid, action_id="act_auth"))
    await deliver(client, event("payment_approved", pid, action_id="act_auth"))
    await build_worker(container).drain()

    assert (await state(client, pid))["status"] == "Voided"


async def test_declined_3ds_payment(client: httpx.AsyncClient, container: Container) -> None:
    created = await client.post(
        "/v1/payments",
        json=payment_body(three_ds=True),
        headers={"Idempotency-Key": "key-3ds-fail"},
    )
    pid = created.json()["payment_id"]
    await deliver(client, event("payment_authentication_failed", pid, action_id="act_3ds"))
    await build_worker(container).drain()

    body = await state(client, pid)
    assert body["status"] == "Declined"
    assert [a["status"] for a in body["actions"]] == ["Declined"]
    assert body["actions"][0]["action_id"] == "act_3ds"  # the placeholder learned its id


async def test_crashed_worker_lease_lapses_and_event_applies_once(
    client: httpx.AsyncClient, container: Container, clock: ShiftedClock
) -> None:
    await deliver(client, event("payment_captured", "pay_crash", action_id="act_crash", amount=500))
    crashed = Worker(
        uow=container.uow,
        handlers={},
        clock=clock,
        metrics=container.metrics,
        config=build_worker(container)._config,
    )
    async with container.uow() as uow:  # the crashed worker claimed it, then died
        claimed = await uow.outbox.claim_due(
            now=container.clock(), limit=10, lease=timedelta(seconds=60), worker_id="dead-worker"
        )
        await uow.commit()
    assert len(claimed) == 1
    del crashed

    assert await build_worker(container).drain() == 0  # still leased to the dead worker
    async with container.uow() as uow:
        rows = await uow.outbox.claim_due(
            now=container.clock() + timedelta(seconds=61),
            limit=10,
            lease=timedelta(seconds=60),
            worker_id="second-worker",
        )
        await uow.commit()
    assert [r["id"] for r in rows] == [claimed[0]["id"]]
    await container.webhooks.process(rows[0]["payload"]["event_row_id"])
    await container.webhooks.process(rows[0]["payload"]["event_row_id"])  # at-least-once

    body = await state(client, "pay_crash")
    assert body["amounts"]["captured"] == "5.00"
    assert len(body["actions"]) == 1


async def test_two_workers_on_one_payment_lose_no_update(
    client: httpx.AsyncClient, container: Container
) -> None:
    pid = "pay_twoworkers"
    await deliver(client, event("payment_approved", pid, action_id="act_auth", amount=10000))
    for n in range(10):
        await deliver(client, event("payment_captured", pid, action_id=f"act_cap{n}", amount=1000))

    first, second = build_worker(container, worker_id="w1"), build_worker(container, worker_id="w2")
    await asyncio.gather(first.drain(), second.drain())

    body = await state(client, pid)
    assert body["status"] == "Captured"
    assert body["amounts"]["captured"] == "100.00"
    async with container.engine.connect() as conn:
        version = (await conn.execute(select(payments.c.version))).scalar_one()
    assert version >= 12  # every event bumped the version: none was lost


# --- property: any order, any duplicates, same final state -------------------------------

# Checkout.com's running totals ride along as its samples show them (some events carry none).
SEQUENCE: list[tuple[str, str, int, dict[str, int] | None]] = [
    ("payment_pending", "act_auth", 10000, None),
    ("payment_approved", "act_auth", 10000, balances(authorized=10000)),
    ("payment_captured", "act_cap1", 3000, balances(authorized=10000, captured=3000)),
    ("payment_captured", "act_cap2", 7000, balances(authorized=10000, captured=10000)),
    ("payment_refund_pending", "act_ref1", 2000, None),
    (
        "payment_refunded",
        "act_ref1",
        2000,
        balances(authorized=10000, captured=10000, refunded=2000),
    ),
    ("payment_refunded", "act_ref2", 1000, None),
]
_run = iter(range(1_000_000))


async def _final_state(
    client: httpx.AsyncClient, container: Container, order: list[int]
) -> dict[str, Any]:
    pid = f"pay_prop{next(_run):021d}"
    for index in order:
        kind, action, amount, totals = SEQUENCE[index]
        body = event(
            kind, pid, action_id=f"{action}_{pid}", amount=amount, event_id=f"evt_{pid}_{index}"
        )
        if totals is not None:
            body["data"]["balances"] = totals
        await deliver(client, body)
    await build_worker(container).drain()
    body = await state(client, pid)
    return {
        "status": body["status"],
        "amount": body["amount"],
        "amounts": body["amounts"],
        "actions": sorted(
            (a["action_id"].split("_pay_")[0], a["type"], a["status"], a["amount"])
            for a in body["actions"]
        ),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    order=st.permutations(range(len(SEQUENCE))),
    duplicates=st.lists(st.integers(0, len(SEQUENCE) - 1), max_size=6),
)
async def test_any_permutation_with_duplicates_converges(
    client: httpx.AsyncClient, container: Container, order: list[int], duplicates: list[int]
) -> None:
    in_order = await _final_state(client, container, list(range(len(SEQUENCE))))
    shuffled = await _final_state(client, container, [*order, *duplicates])

    assert shuffled == in_order
    assert in_order["status"] == "Partially Refunded"
    assert in_order["amounts"]["refunded"] == "30.00"
    assert in_order["amount"] == "100.00"
