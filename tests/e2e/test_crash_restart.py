"""`SIGKILL` in the middle of a burst, then a restart: every request the caller retries with
its key and every webhook Checkout.com re-delivers completes exactly once — one charge per
key at Checkout.com, one inbox row and one effect per event, Salesforce exactly right."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.e2e.checks import (
    action_at_checkout,
    assert_events_handled_once,
    assert_events_once,
    assert_mirrored,
    charges_at_checkout,
    settled,
)
from tests.e2e.client import (
    PaybridgeClient,
    action_event,
    captured_payments,
    new_order,
    order_payment,
)
from tests.e2e.harness import Stack
from tests.e2e.processes import eventually

BEFORE = 6  # payments made and captured before the burst; the burst confirms the captures
BURST = 12  # payments created during the burst
HELD_S = 1.0  # Checkout.com answers this late, so creates are in flight when the kill comes
SPACING_S = 0.1
KILL_AFTER = BURST * 2 // 3  # creates that reached Checkout.com when the kill comes
SETTINGS = {
    # A lease that lapses quickly: tasks the killed process had claimed are claimed again.
    "PAYBRIDGE_WORKER__LEASE_S": "2",
    "PAYBRIDGE_CHECKOUT__READ_TIMEOUT_S": "5",
}
RETRY_FOR_S = 30.0
SALESFORCE_LATENCY_S = 0.5


async def answered(send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response | None:
    """The response, or None when the connection died with the server."""
    try:
        return await send()
    except httpx.TransportError:
        return None


async def until_answered(
    send: Callable[[], Awaitable[httpx.Response]], *, done: set[int], what: str
) -> httpx.Response:
    """Retry like a careful client (same key, same body) until a status in `done`."""
    last: list[str] = []

    async def attempt() -> httpx.Response | None:
        response = await answered(send)
        last[:] = [response.text if response is not None else "no answer"]
        return response if response is not None and response.status_code in done else None

    return await eventually(
        attempt, timeout_s=RETRY_FOR_S, what=what, interval_s=0.3, context=lambda: str(last)
    )


async def test_paybridge_killed_mid_burst_and_restarted(stack: Stack) -> None:
    server = await stack.serve("api", env=SETTINGS)
    api = PaybridgeClient(server.base_url)
    try:
        await _scenario(stack, server.restart, api)
    finally:
        await api.aclose()
        await server.kill()


async def _scenario(
    stack: Stack, restart: Callable[[], Awaitable[None]], api: PaybridgeClient
) -> None:
    orders, captures = await captured_payments(stack, api, BEFORE)  # payment id → Order Id

    burst = [new_order() for _ in range(BURST)]
    await stack.sims.seed_orders(*(order_id for order_id, _ in burst))
    bodies = {number: order_payment(order_id, number) for order_id, number in burst}
    await stack.sims.checkout_faults(delay_s=HELD_S)

    # A stream of creates with the webhooks mixed in, one every SPACING_S: when the kill
    # comes some are answered, some in flight, some not sent yet (they meet a dead port).
    creates: list[asyncio.Task[httpx.Response | None]] = []
    webhooks: list[tuple[dict[str, Any], asyncio.Task[httpx.Response | None]]] = []

    def deliver(body: dict[str, Any]) -> None:
        task = asyncio.create_task(answered(functools.partial(api.deliver, body)))
        webhooks.append((body, task))

    async def stream() -> None:
        unsent = list(captures)
        for number, body in bodies.items():
            send = functools.partial(api.create, body, key=f"create-{number}")
            creates.append(asyncio.create_task(answered(send)))
            await asyncio.sleep(SPACING_S)
            if unsent and len(creates) % 2 == 0:
                deliver(unsent.pop())
                await asyncio.sleep(SPACING_S)
        for body in unsent:
            deliver(body)

    async def creates_in_flight() -> bool:
        state = await stack.sims.checkout_state()
        sent = {r["reference"] for r in state["requests"] if r["reference"] in bodies}
        return len(sent) >= KILL_AFTER

    streaming = asyncio.create_task(stream())
    await eventually(creates_in_flight, timeout_s=20, what="creates to reach Checkout.com")
    await restart()  # SIGKILL, then the same command again, waited for /readyz
    await streaming
    first_creates = await asyncio.gather(*creates)
    await asyncio.gather(*(task for _, task in webhooks))
    await stack.sims.checkout_faults(delay_s=0)
    lost = [n for n, r in zip(bodies, first_creates, strict=True) if r is None]
    assert lost, "the kill came after every create had been answered: nothing was in flight"

    # Salesforce retries every create with its key; Checkout.com re-delivers every webhook.
    payment_ids: dict[str, str] = {}
    for number, first in zip(bodies, first_creates, strict=True):
        again = await until_answered(
            functools.partial(api.create, bodies[number], key=f"create-{number}"),
            done={201},
            what=f"the create of {number} to be answered",
        )
        if first is not None and first.status_code == 201:
            assert again.json() == first.json(), "a replay must repeat the first answer"
        payment_ids[number] = again.json()["payment_id"]
    for body, task in webhooks:
        first = task.result()
        again = await until_answered(
            functools.partial(api.deliver, body),
            done={200},
            what=f"webhook {body['id']} acknowledged",
        )
        acknowledged = first is not None and first.status_code == 200
        assert again.json()["status"] == "duplicate" or not acknowledged

    for (order_id, number), pid in zip(burst, payment_ids.values(), strict=True):
        orders[pid] = order_id
        assert pid == payment_ids[number]
    views = await settled(stack, api, orders)
    cko = await stack.sims.checkout_state()
    state = await stack.sims.salesforce_state()
    for number, pid in payment_ids.items():
        assert views[pid]["status"] == "Authorized"
        assert [c["id"] for c in charges_at_checkout(cko, number)] == [pid], number
        keys = {r["idempotency_key"] for r in cko["requests"] if r["reference"] == number}
        assert len(keys) == 1, f"{number}: several Cko-Idempotency-Keys {keys}"
    for pid, view in views.items():
        if pid not in payment_ids.values():
            assert (view["status"], view["amounts"]["captured"]) == ("Captured", "149.90")
        assert_mirrored(state, view, order_id=orders[pid])
    ids = [body["id"] for body in captures]
    await assert_events_once(stack, state, ids)
    recorded = await stack.db.fetch(
        "SELECT reference, count(*) AS n FROM payments WHERE reference = ANY($1::text[]) "
        "GROUP BY reference",
        list(bodies),
    )
    assert {row["reference"]: row["n"] for row in recorded} == dict.fromkeys(bodies, 1)


async def test_worker_killed_mid_sync_and_restarted(stack: Stack) -> None:
    """The worker dies while Salesforce writes are in flight; its leases lapse, the tasks are
    claimed again by the restarted worker, and Salesforce still ends up exactly right."""
    server = await stack.serve("api-alone", embedded_worker=False, env=SETTINGS)
    worker = await stack.worker("worker", env=SETTINGS)
    api = PaybridgeClient(server.base_url)
    try:
        orders, events = await captured_payments(stack, api, BEFORE)
        await stack.sims.salesforce_faults(latency_s=SALESFORCE_LATENCY_S)
        for body in events:
            assert await api.deliver_ok(body) == "accepted"

        async def syncing() -> bool:
            running = await stack.db.fetch(
                "SELECT id FROM outbox "
                "WHERE status = 'running' AND kind = 'salesforce.sync_payment'"
            )
            return bool(running)

        await eventually(syncing, timeout_s=20, what="Salesforce syncs in flight")
        await worker.restart()
        await stack.sims.salesforce_faults(latency_s=0)

        views = await settled(stack, api, orders)
        state = await stack.sims.salesforce_state()
        for pid, view in views.items():
            assert (view["status"], view["amounts"]["captured"]) == ("Captured", "149.90")
            assert_mirrored(state, view, order_id=orders[pid])
        ids = [body["id"] for body in events]
        await assert_events_once(stack, state, ids)
        reclaimed = await stack.db.fetch(
            "SELECT id FROM outbox WHERE kind = 'salesforce.sync_payment' AND attempts > 1"
        )
        assert reclaimed, "no sync was interrupted by the kill: the scenario did not happen"
    finally:
        await api.aclose()
        await worker.kill()
        await server.kill()


async def test_paybridge_killed_during_a_capture_nobody_retries(stack: Stack) -> None:
    """The capture reached Checkout.com, then paybridge died before recording the answer and
    Salesforce never asked again; Checkout.com's webhook reports the capture. The capture
    is in the ledger once, settled — not once as a hold nobody releases and once again."""
    server = await stack.serve("api-capture", env=SETTINGS)
    api = PaybridgeClient(server.base_url)
    try:
        order_id, number = new_order()
        await stack.sims.seed_orders(order_id)
        created = await api.create(order_payment(order_id, number), key=f"create-{number}")
        assert created.status_code == 201, created.text
        view = created.json()
        pid = view["payment_id"]
        await stack.sims.checkout_faults(delay_s=HELD_S)
        capture = asyncio.create_task(
            answered(
                functools.partial(api.act, pid, "captures", key=f"capture-{number}", amount=100)
            )
        )

        action_id = await action_at_checkout(stack, pid)
        await server.restart()
        await stack.sims.checkout_faults(delay_s=0)
        assert await capture is None, "the capture was answered before the kill"
        webhook = action_event("payment_captured", view, action_id=action_id, amount_minor=10000)
        assert await api.deliver_ok(webhook) == "accepted"

        final = (await settled(stack, api, [pid]))[pid]
        assert sorted(
            (a["action_id"], a["type"], a["status"], a["amount"]) for a in final["actions"]
        ) == sorted(
            [
                (view["actions"][0]["action_id"], "authorization", "Succeeded", "149.90"),
                (action_id, "capture", "Succeeded", "100.00"),
            ]
        )
        assert (final["status"], final["amounts"]["captured"]) == ("Captured", "100.00")
        cko = await stack.sims.checkout_state()
        assert len(cko["payments"][pid]["actions"]) == 1
        state = await stack.sims.salesforce_state()
        assert_mirrored(state, final, order_id=order_id)
        await assert_events_handled_once(stack, [webhook["id"]])
    finally:
        await api.aclose()
        await server.kill()


TAKEOVER_PAYMENTS = 40
# The default lease: a takeover that waited for it would take a minute.
DEFAULT_LEASE = {"PAYBRIDGE_WORKER__LEASE_S": "60"}


async def test_a_killed_workers_tasks_are_taken_over_at_once(stack: Stack) -> None:
    """SIGKILL while Salesforce writes are in flight, with the default 60 s lease: the
    restarted worker sees the dead one's presence lock gone and takes its tasks over at
    once. Prints how long after the restarted worker was up everything had converged."""
    server = await stack.serve("api-takeover", embedded_worker=False, env=DEFAULT_LEASE)
    worker = await stack.worker("worker-takeover", env=DEFAULT_LEASE)
    api = PaybridgeClient(server.base_url)
    try:
        orders, events = await captured_payments(stack, api, TAKEOVER_PAYMENTS)
        # Idle first (the creates' own recovery checks done), so what follows the restart is
        # only the work the killed worker held and the burst it was in.
        await settled(stack, api, orders)
        await stack.sims.salesforce_faults(latency_s=SALESFORCE_LATENCY_S)
        for body in events:
            assert await api.deliver_ok(body) == "accepted"

        async def syncing() -> bool:
            running = await stack.db.fetch(
                "SELECT id FROM outbox WHERE status = 'running' "
                "AND kind = 'salesforce.sync_payment'"
            )
            return bool(running)

        await eventually(syncing, timeout_s=20, what="Salesforce syncs in flight")
        await worker.process.kill()
        await stack.sims.salesforce_faults(latency_s=0)
        orphans = await stack.db.fetch("SELECT id FROM outbox WHERE status = 'running'")
        await worker.start()
        up = time.monotonic()
        views = await settled(stack, api, orders, timeout_s=180)
        converged_s = time.monotonic() - up
        print(  # noqa: T201 — the figure this test exists to report (DESIGN §10)
            f"\ncrash recovery: {len(orphans)} tasks held by the killed worker, "
            f"{len(events)} webhooks; everything converged {converged_s:.1f} s after the "
            "restarted worker was up"
        )

        state = await stack.sims.salesforce_state()
        for pid, view in views.items():
            assert (view["status"], view["amounts"]["captured"]) == ("Captured", "149.90")
            assert_mirrored(state, view, order_id=orders[pid])
        await assert_events_once(stack, state, [body["id"] for body in events])
        assert orphans, "the kill came when the worker held nothing: the scenario did not happen"
    finally:
        await api.aclose()
        await worker.kill()
        await server.kill()
