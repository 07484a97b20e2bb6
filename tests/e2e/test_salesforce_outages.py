"""Salesforce down (503) for a while, then out of API calls (`REQUEST_LIMIT_EXCEEDED`):
payments and webhooks keep being accepted, nothing reaches the org meanwhile, and once it
is back everything queued is written — once, with the newest state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.checks import (
    assert_events_once,
    assert_mirrored,
    rows,
    settled,
)
from tests.e2e.client import PaybridgeClient, captured_payments
from tests.e2e.harness import Stack
from tests.e2e.processes import eventually

PAYMENTS = 4
FOREVER = 1_000_000


@pytest.fixture(scope="module")
async def api(stack: Stack) -> AsyncIterator[PaybridgeClient]:
    server = await stack.serve("api")
    client = PaybridgeClient(server.base_url)
    yield client
    await client.aclose()


async def take_payments(
    stack: Stack, api: PaybridgeClient
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`PAYMENTS` payments, each captured in full and confirmed by webhook; returns
    {payment id: Order Id} and the webhooks delivered."""
    orders, events = await captured_payments(stack, api, PAYMENTS)
    for body in events:
        assert await api.deliver_ok(body) == "accepted"
    return orders, events


async def sync_failures(stack: Stack, error: str) -> list[dict[str, Any]] | None:
    """Payment syncs that failed with `error` and are still queued.

    A task being retried right now is `running` with its previous error kept, so both
    `pending` and `running` count: requiring every task to sit between two attempts at the
    same instant made the check depend on timing. Done or dead tasks never count."""
    found = await stack.db.fetch(
        "SELECT id, status, attempts, last_error FROM outbox "
        "WHERE kind = 'salesforce.sync_payment' AND status IN ('pending', 'running') "
        "AND attempts >= 1 AND last_error LIKE $1",
        f"%{error}%",
    )
    return found or None


async def assert_nothing_written(stack: Stack, orders: dict[str, str]) -> None:
    state = await stack.sims.salesforce_state()
    for pid in orders:
        assert rows(state, "CKO_Payment__c", CKO_Payment_Id__c=pid) == []


async def assert_drained(
    stack: Stack, api: PaybridgeClient, orders: dict[str, str], events: list[dict[str, Any]]
) -> None:
    views = await settled(stack, api, orders)
    state = await stack.sims.salesforce_state()
    for pid, view in views.items():
        assert view["status"] == "Captured"
        assert_mirrored(state, view, order_id=orders[pid])
    ids = [body["id"] for body in events]
    await assert_events_once(stack, state, ids)


async def test_salesforce_unavailable_for_a_while(stack: Stack, api: PaybridgeClient) -> None:
    await stack.sims.salesforce_faults(fail_next=FOREVER)
    try:
        orders, events = await take_payments(stack, api)
        # The outage lasts until every payment's sync has failed and been put back.
        await eventually(
            lambda: _all_failed(stack, orders, "503"),
            timeout_s=30,
            what="every payment sync to fail with 503 and stay queued",
            context=stack.describe,
        )
        await assert_nothing_written(stack, orders)
    finally:
        await stack.sims.salesforce_faults(fail_next=0)

    await assert_drained(stack, api, orders, events)


async def test_request_limit_exceeded_pauses_then_drains(
    stack: Stack, api: PaybridgeClient
) -> None:
    await stack.sims.salesforce_faults(request_limit_exceeded=True)
    try:
        orders, events = await take_payments(stack, api)
        await eventually(
            lambda: _all_failed(stack, orders, "REQUEST_LIMIT_EXCEEDED"),
            timeout_s=30,
            what="payment syncs postponed by REQUEST_LIMIT_EXCEEDED",
            context=stack.describe,
        )
        await assert_nothing_written(stack, orders)
    finally:
        await stack.sims.salesforce_faults(request_limit_exceeded=False)

    await assert_drained(stack, api, orders, events)


async def _all_failed(stack: Stack, orders: dict[str, str], error: str) -> bool:
    """True once the newest sync task of every payment is queued again after `error`."""
    failed = await sync_failures(stack, error) or []
    payments = await stack.db.fetch(
        "SELECT p.checkout_payment_id FROM outbox o JOIN payments p "
        "ON o.payload->>'payment_id' = p.id WHERE o.id = ANY($1::bigint[])",
        [row["id"] for row in failed],
    )
    return {row["checkout_payment_id"] for row in payments} >= set(orders)
