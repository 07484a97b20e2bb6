"""Outages far longer than every retry budget, with time compressed by configuration (two
attempts, back-off capped at seconds): Salesforce answering 503, Salesforce at its API
limit, Checkout.com unreachable for reconciliation and for action recovery. Each ends with
every record written once and no task dead-lettered (DESIGN principle 8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from paybridge.container import Container
from paybridge.persistence.tables import outbox
from paybridge.services.actions import RECOVER_TASK
from paybridge.services.ledger import RECONCILE_TASK, SYNC_PAYMENT_TASK
from paybridge.worker.tasks import build_worker
from tests.api.test_actions import act, create
from tests.conftest import API_KEY, ShiftedClock, make_settings, truncate_all
from tests.salesforce_env import Env, salesforce_env, seed_payment
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator

# The whole retry budget of a task is two attempts a few seconds apart; each outage below
# lasts hundreds of times longer.
COMPRESSED = {"max_attempts": 2, "backoff_base_s": 1, "outage_backoff_max_s": 5}
FOREVER = 10**9


async def all_tasks(container: Container) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(select(outbox))).mappings()]


async def assert_nothing_dead(container: Container) -> None:
    dead = [task for task in await all_tasks(container) if task["status"] == "dead"]
    assert dead == []


async def outage_rounds(env: Env, *, rounds: int, step_s: float) -> None:
    for _ in range(rounds):
        env.clock.now += timedelta(seconds=step_s)
        await env.drain()


def written(sim: SalesforceSimulator, checkout_id: str) -> int:
    return len(sim.find("CKO_Payment__c", "CKO_Payment_Id__c", checkout_id))


@pytest.mark.parametrize("payments", [2, 6], ids=["composite", "collections"])
async def test_salesforce_503_for_hours_dead_letters_nothing(
    pg_url: str, checkout_sim: CheckoutSimulator, payments: int
) -> None:
    sim = SalesforceSimulator()
    async with salesforce_env(pg_url, sim, checkout_sim, worker=COMPRESSED) as env:
        ids = [await seed_payment(env.container, n, status_events=2) for n in range(payments)]
        sim.fail_next(FOREVER)

        await outage_rounds(env, rounds=40, step_s=600)  # ~7 hours, 40 rounds of attempts

        syncs = [t for t in await all_tasks(env.container) if t["kind"] == SYNC_PAYMENT_TASK]
        assert {(t["status"], t["attempts"]) for t in syncs} == {("pending", 0)}
        assert all("Server unavailable" in t["last_error"] for t in syncs)
        await assert_nothing_dead(env.container)

        sim.fail_next(0)
        await outage_rounds(env, rounds=2, step_s=600)

        assert all(written(sim, checkout_id) == 1 for checkout_id in ids)
        assert len(sim.records["CKO_Payment_Action__c"]) == 2 * payments
        await assert_nothing_dead(env.container)
        syncs = [t for t in await all_tasks(env.container) if t["kind"] == SYNC_PAYMENT_TASK]
        assert {t["status"] for t in syncs} == {"done"}


async def test_salesforce_api_limit_for_a_day_dead_letters_nothing(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    sim = SalesforceSimulator()
    async with salesforce_env(
        pg_url, sim, checkout_sim, worker=COMPRESSED, pause_on_limit_s=300
    ) as env:
        ids = [await seed_payment(env.container, n) for n in range(3)]
        sim.request_limit_exceeded = True

        await outage_rounds(env, rounds=288, step_s=301)  # 24 hours of 5-minute pauses

        tasks = await all_tasks(env.container)
        assert {t["attempts"] for t in tasks if t["status"] == "pending"} == {0}
        await assert_nothing_dead(env.container)
        assert all(written(sim, checkout_id) == 0 for checkout_id in ids)

        sim.request_limit_exceeded = False
        await outage_rounds(env, rounds=2, step_s=301)

        assert all(written(sim, checkout_id) == 1 for checkout_id in ids)
        await assert_nothing_dead(env.container)


async def test_a_salesforce_outage_holds_every_salesforce_task_not_the_others(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    """One sync that meets the outage holds every pending Salesforce task (the family backs
    off as a whole); Checkout.com's tasks are not held for Salesforce's sake."""
    sim = SalesforceSimulator()
    async with salesforce_env(pg_url, sim, checkout_sim, worker=COMPRESSED) as env:
        await seed_payment(env.container, 1)
        sim.fail_next(FOREVER)
        worker = build_worker(env.container)
        await worker.run_once([SYNC_PAYMENT_TASK])  # meets the outage
        now = env.clock.now
        async with env.container.uow() as uow:
            await uow.outbox.enqueue("salesforce.sync_logs", {}, now=now - timedelta(seconds=1))
            await uow.outbox.enqueue(RECONCILE_TASK, {"payment_id": "x"}, now=now)
            await uow.commit()
        await seed_payment(env.container, 2)  # a new sync, due now

        await worker.run_once([SYNC_PAYMENT_TASK])
        held = await all_tasks(env.container)
        salesforce = [t for t in held if t["kind"].startswith("salesforce.")]
        assert len(salesforce) == 3
        assert all(t["next_attempt_at"] > now for t in salesforce)
        # Capped: never further away than the outage back-off allows.
        assert all(t["next_attempt_at"] <= now + timedelta(seconds=5) for t in salesforce)
        (reconcile,) = [t for t in held if t["kind"] == RECONCILE_TASK]
        assert reconcile["next_attempt_at"] == now


# --- Checkout.com unreachable ------------------------------------------------------------


@pytest.fixture
async def compressed(
    pg_url: str, checkout_sim: CheckoutSimulator, clock: ShiftedClock
) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    built = build_container(
        make_settings(pg_url, worker={"embedded": False, **COMPRESSED}),
        clock=clock,
        checkout_transport=checkout_sim.transport(),
        checkout_retry=RetryPolicy.immediate(3),
    )
    await truncate_all(built.engine)
    transport = httpx.ASGITransport(app=create_app(container=built))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://paybridge.test", headers={"X-API-Key": API_KEY}
    ) as http:
        yield built, http
    await built.aclose()


async def checkout_rounds(container: Container, clock: ShiftedClock, *, rounds: int) -> None:
    for _ in range(rounds):
        clock.advance(600)
        await build_worker(container).drain()


async def test_checkout_unreachable_for_reconciliation_for_hours_dead_letters_nothing(
    compressed: tuple[Container, httpx.AsyncClient],
    checkout_sim: CheckoutSimulator,
    clock: ShiftedClock,
) -> None:
    container, client = compressed
    pid = await create(client, capture=False)
    assert (await act(client, pid, "captures", {})).status_code == 202
    checkout_sim.fail_next = FOREVER

    await checkout_rounds(container, clock, rounds=30)  # 5 hours past the hour it is due

    (task,) = [t for t in await all_tasks(container) if t["kind"] == RECONCILE_TASK]
    assert (task["status"], task["attempts"]) == ("pending", 0)
    await assert_nothing_dead(container)

    checkout_sim.fail_next = 0
    await checkout_rounds(container, clock, rounds=2)

    body = (await client.get(f"/v1/payments/{pid}")).json()
    assert body["status"] == "Captured"
    assert [a["status"] for a in body["actions"]] == ["Succeeded", "Succeeded"]
    await assert_nothing_dead(container)


async def test_checkout_unreachable_for_action_recovery_for_hours_dead_letters_nothing(
    compressed: tuple[Container, httpx.AsyncClient],
    checkout_sim: CheckoutSimulator,
    clock: ShiftedClock,
) -> None:
    """The capture never got an answer, its caller never retried; Checkout.com stays away
    for hours. The recovery task waits it out and captures once, with the same key."""
    container, client = compressed
    pid = await create(client, capture=False)
    checkout_sim.fail_next = FOREVER
    refused = await act(client, pid, "captures", {"amount": 40})
    assert refused.status_code == 503

    await checkout_rounds(container, clock, rounds=30)

    (task,) = [t for t in await all_tasks(container) if t["kind"] == RECOVER_TASK]
    assert (task["status"], task["attempts"]) == ("pending", 0)
    await assert_nothing_dead(container)

    checkout_sim.fail_next = 0
    await checkout_rounds(container, clock, rounds=2)

    keys = {
        headers.get("cko-idempotency-key")
        for method, path, headers, _ in checkout_sim.requests
        if (method, path) == ("POST", f"/payments/{pid}/captures")
    }
    assert len(keys) == 1
    assert checkout_sim.payments[pid].captured == 4000
    body = (await client.get(f"/v1/payments/{pid}")).json()
    (capture,) = [a for a in body["actions"] if a["type"] == "capture"]
    assert capture["action_id"].startswith("act_")
    assert capture["amount"] == "40.00"
    await assert_nothing_dead(container)


async def test_logs_held_for_high_api_usage_hold_only_the_logs(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    """Holding logs back near the daily allocation is a choice, not an outage: payment
    syncs are not held with them, and the held sweep spends no attempt."""
    sim = SalesforceSimulator()
    sim.api_limit, sim.api_calls = 10, 8
    async with salesforce_env(pg_url, sim, checkout_sim, log_throttle_ratio=0.8) as env:
        await seed_payment(env.container, 1)
        await env.drain()  # usage 9/10 is now known
        assert env.container.salesforce_sync is not None
        await env.container.salesforce_sync.schedule_log_sweep()
        await seed_payment(env.container, 2)  # its sync is due now

        worker = build_worker(env.container)
        assert await worker.run_once(["salesforce.sync_logs"]) == 1

        pending = [t for t in await all_tasks(env.container) if t["status"] == "pending"]
        (sweep,) = [t for t in pending if t["kind"] == "salesforce.sync_logs"]
        assert sweep["next_attempt_at"] > env.clock.now
        assert sweep["attempts"] == 0
        (sync,) = [t for t in pending if t["kind"] == SYNC_PAYMENT_TASK]
        assert sync["next_attempt_at"] <= env.clock.now
