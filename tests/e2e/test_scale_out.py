"""Two API processes and two worker processes on one PostgreSQL database, the traffic spread
over both APIs and every webhook delivered to both: each event is handled once, each task
runs once, each Salesforce record is written with the newest content."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.checks import (
    assert_events_once,
    assert_mirrored,
    charges_at_checkout,
    payment_when,
    settled,
)
from tests.e2e.client import PaybridgeClient, action_event, new_order, order_payment
from tests.e2e.harness import Stack

PAYMENTS = 10


@pytest.fixture(scope="module")
async def apis(stack: Stack) -> AsyncIterator[list[PaybridgeClient]]:
    servers = await asyncio.gather(
        stack.serve("api-1", embedded_worker=False),
        stack.serve("api-2", embedded_worker=False),
        stack.worker("worker-1"),
        stack.worker("worker-2"),
    )
    clients = [PaybridgeClient(server.base_url) for server in servers[:2]]
    yield clients
    for client in clients:
        await client.aclose()


async def everywhere(apis: list[PaybridgeClient], body: dict[str, Any]) -> list[str]:
    """The same webhook delivered to every API process at once."""
    return list(await asyncio.gather(*(api.deliver_ok(body) for api in apis)))


async def one_payment(
    apis: list[PaybridgeClient], stack: Stack, n: int
) -> tuple[str, str, list[str]]:
    """Create on one API, capture in two parts on the other, refund on the first; each
    action's webhook goes to both. Returns (payment id, Order Id, event ids)."""
    first, second = apis[n % 2], apis[(n + 1) % 2]
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    created = await first.create(order_payment(order_id, number), key=f"create-{number}")
    assert created.status_code == 201, created.text
    view = created.json()
    pid = view["payment_id"]
    events: list[dict[str, Any]] = []
    for part, (amount, minor) in enumerate((("100.00", 10000), ("49.90", 4990))):
        capture = await second.act(
            pid, "captures", key=f"capture-{part}-{number}", amount=amount, final=part == 1
        )
        assert capture.status_code == 202, capture.text
        events.append(
            action_event(
                "payment_captured", view, action_id=capture.json()["action_id"], amount_minor=minor
            )
        )
        receipts = await everywhere(apis, events[-1])
        assert sorted(receipts) == ["accepted", "duplicate"]
    await payment_when(first, pid, lambda v: v["status"] == "Captured", what="captured")
    refund = await first.act(pid, "refunds", key=f"refund-{number}", amount=25)
    assert refund.status_code == 202, refund.text
    events.append(
        action_event(
            "payment_refunded", view, action_id=refund.json()["action_id"], amount_minor=2500
        )
    )
    assert sorted(await everywhere(apis, events[-1])) == ["accepted", "duplicate"]
    return pid, order_id, [body["id"] for body in events]


async def test_two_apis_and_two_workers_share_the_work_without_doing_it_twice(
    stack: Stack, apis: list[PaybridgeClient]
) -> None:
    done = await asyncio.gather(*(one_payment(apis, stack, n) for n in range(PAYMENTS)))
    orders = {pid: order_id for pid, order_id, _ in done}
    event_ids = list(itertools.chain.from_iterable(ids for _, _, ids in done))

    views = await settled(stack, apis[0], orders)
    state = await stack.sims.salesforce_state()
    cko = await stack.sims.checkout_state()
    for pid, view in views.items():
        assert view["status"] == "Partially Refunded"
        assert (view["amounts"]["captured"], view["amounts"]["refunded"]) == ("149.90", "25.00")
        assert view == await apis[1].payment(pid), "both APIs tell the same story"
        assert_mirrored(state, view, order_id=orders[pid])
        (charge,) = charges_at_checkout(cko, view["reference"])
        assert [a["type"] for a in charge["actions"]] == ["capture", "capture", "refund"]
    await assert_events_once(stack, state, event_ids)
    # Each webhook task was claimed once, by one of the workers, and succeeded first time.
    tasks = await stack.db.fetch(
        "SELECT kind, status, attempts, claimed_by, last_error FROM outbox "
        "WHERE kind = 'webhooks.process'"
    )
    assert len(tasks) == len(event_ids)
    assert {(t["status"], t["attempts"]) for t in tasks} == {("done", 1)}, tasks
    syncs = await stack.db.fetch(
        "SELECT status, count(*) AS n FROM outbox WHERE kind = 'salesforce.sync_payment' "
        "GROUP BY status"
    )
    assert {row["status"] for row in syncs} == {"done"}, syncs
