"""A webhook that never comes: the overdue outcome is asked for and merged like a webhook."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paybridge.container import Container
from paybridge.domain.facts import ActionFact
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.persistence.tables import integration_logs, outbox
from paybridge.sandbox.checkout_cards import TOKEN_THREE_DS
from paybridge.services.ledger import RECONCILE_TASK, apply_facts
from paybridge.services.tasks import Done
from paybridge.worker.tasks import build_worker
from tests.api.payloads import payment_body
from tests.api.test_actions import act, confirm, create
from tests.conftest import ShiftedClock
from tests.simulators.checkout import CheckoutSimulator

HOUR = 3600


async def view(client: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/payments/{payment_id}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def reconcile_tasks(container: Container) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(select(outbox).where(outbox.c.kind == RECONCILE_TASK))
        return [dict(row) for row in rows.mappings()]


async def reconcile_logs(container: Container) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            select(integration_logs).where(integration_logs.c.operation == "payment.reconcile")
        )
        return [dict(row) for row in rows.mappings()]


def asked(checkout_sim: CheckoutSimulator) -> int:
    return len(checkout_sim.calls("GET", "/payments/"))


async def test_a_capture_whose_webhook_never_came_is_learnt_an_hour_later(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    checkout_sim: CheckoutSimulator,
) -> None:
    pid = await create(client, capture=False)
    captured = await act(client, pid, "captures", {})
    assert captured.status_code == 202
    worker = build_worker(container)
    await worker.drain()
    assert asked(checkout_sim) == 0  # not overdue yet
    assert (await view(client, pid))["actions"][-1]["status"] == "Requested"

    clock.advance(HOUR + 1)
    await worker.drain()

    body = await view(client, pid)
    assert body["status"] == "Captured"
    assert [a["status"] for a in body["actions"]] == ["Succeeded", "Succeeded"]
    assert checkout_sim.calls("GET", f"/payments/{pid}/actions") != []
    (log,) = await reconcile_logs(container)
    assert (log["level"], log["http_status"], log["checkout_payment_id"]) == ("INFO", 200, pid)
    assert [t["status"] for t in await reconcile_tasks(container)] == ["done"]  # nothing awaited


async def test_when_the_webhook_came_nothing_is_asked(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    checkout_sim: CheckoutSimulator,
) -> None:
    pid = await create(client, capture=False)
    captured = await act(client, pid, "captures", {})
    await confirm(container, pid, captured.json()["action_id"])

    clock.advance(HOUR + 1)
    await build_worker(container).drain()

    assert asked(checkout_sim) == 0
    assert (await view(client, pid))["status"] == "Captured"
    assert [t["status"] for t in await reconcile_tasks(container)] == ["done"]


async def test_an_abandoned_3ds_payment_is_asked_again_until_it_ends(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    checkout_sim: CheckoutSimulator,
) -> None:
    response = await client.post(
        "/v1/payments",
        json=payment_body(payment_method={"type": "token", "token": TOKEN_THREE_DS}),
        headers={"Idempotency-Key": "reconcile-3ds-1"},
    )
    assert response.status_code == 202, response.text
    pid = response.json()["payment_id"]
    worker = build_worker(container)

    clock.advance(HOUR + 1)
    await worker.drain()
    assert (await view(client, pid))["status"] == "Pending"  # the shopper is still away
    (task,) = [t for t in await reconcile_tasks(container) if t["status"] == "pending"]
    assert task["next_attempt_at"] > clock() + timedelta(minutes=59)  # waits as long again

    checkout_sim.complete_redirect(pid, succeeded=False)  # its webhook is lost
    clock.advance(2 * HOUR + 1)
    await worker.drain()

    assert (await view(client, pid))["status"] == "Declined"
    assert checkout_sim.calls("GET", f"/payments/{pid}") != []


async def test_checkout_unavailable_is_retried_and_a_week_of_silence_is_reported(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    checkout_sim: CheckoutSimulator,
) -> None:
    pid = await create(client, capture=False)
    await act(client, pid, "captures", {})
    checkout_sim.fail_next = 10
    clock.advance(HOUR + 1)

    await build_worker(container).run_once()

    (task,) = await reconcile_tasks(container)
    assert task["status"] == "pending"
    assert task["attempts"] == 0  # an outage is not the task's failure: the attempt is given back
    (failed,) = await reconcile_logs(container)
    assert failed["level"] == "ERROR"

    checkout_sim.fail_next = 0
    clock.advance(8 * 24 * HOUR)
    calls = asked(checkout_sim)
    await build_worker(container).drain()

    assert asked(checkout_sim) == calls  # a person has to look now
    gave_up = [
        log for log in await reconcile_logs(container) if log["error_code"] == "outcome_unknown"
    ]
    assert len(gave_up) == 1
    assert "dashboard" in gave_up[0]["message"]
    assert (await view(client, pid))["actions"][-1]["status"] == "Requested"


async def awaited(container: Container, pid: str, fact: ActionFact) -> None:
    async with container.uow() as uow:
        payment = await uow.payments.get_by_checkout_id(pid, for_update=True)
        assert payment is not None
        await apply_facts(uow, payment, [fact], now=container.clock())
        await uow.commit()


async def pending_check(container: Container) -> datetime:
    (task,) = [t for t in await reconcile_tasks(container) if t["status"] == "pending"]
    at: datetime = task["next_attempt_at"]
    return at


async def test_a_fresh_awaited_outcome_brings_a_distant_check_forward(
    client: httpx.AsyncClient, container: Container, clock: ShiftedClock
) -> None:
    pid = await create(client, capture=False)
    now = clock()
    old = ActionFact("act_oldcapture", ActionType.CAPTURE, ActionStatus.REQUESTED, 100)
    await awaited(container, pid, replace(old, requested_at=now - timedelta(hours=30)))
    assert await pending_check(container) > now + timedelta(hours=23)  # a day-old wait

    fresh = ActionFact("act_newrefund", ActionType.REFUND, ActionStatus.REQUESTED, 50)
    await awaited(container, pid, replace(fresh, requested_at=now))

    assert await pending_check(container) <= now + timedelta(hours=1, seconds=5)


async def test_an_operator_can_ask_at_once_by_either_id(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client, capture=False)
    await act(client, pid, "captures", {})
    async with container.uow() as uow:
        row = await uow.payments.get_by_checkout_id(pid)
    assert row is not None
    record_id = str(row["id"])

    assert await container.reconciliation.reconcile_now(record_id) == (pid, Done(), "Captured")
    assert await container.reconciliation.reconcile_now(pid) == (pid, Done(), "Captured")
    assert len(checkout_sim.calls("GET", f"/payments/{pid}/actions")) == 2  # asked regardless
    with pytest.raises(LookupError, match="no payment pay_unknown"):
        await container.reconciliation.reconcile_now("pay_unknown")
