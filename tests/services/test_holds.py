"""A capture, void or refund reserves a Requested hold; every way it can end settles it.

Never answered and Checkout.com's idempotency window passed, refused with 401 after a key
rotation, or recovery out of attempts: the hold becomes Declined with the reason (an ERROR
integration log, a Salesforce sync), and a late retry of the caller replays that answer.
A webhook whose amount differs from the hold wins, with an ERROR log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from paybridge.container import Container
from paybridge.persistence.tables import integration_logs, outbox
from paybridge.services.actions import RECOVER_TASK
from paybridge.worker.tasks import build_worker
from tests.api.test_actions import act, create
from tests.checkout_spec import validate_against_spec
from tests.conftest import API_KEY, ShiftedClock, make_settings, truncate_all
from tests.simulators.checkout import CheckoutSimulator
from tests.webhook_events import event, signed

HOUR = 3600
FOREVER = 10**9


@pytest.fixture
async def env(
    pg_url: str, checkout_sim: CheckoutSimulator, clock: ShiftedClock
) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    built = build_container(
        make_settings(pg_url, worker={"embedded": False, "max_attempts": 2}),
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


async def view(client: httpx.AsyncClient, pid: str) -> dict[str, Any]:
    response = await client.get(f"/v1/payments/{pid}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def error_logs(container: Container, code: str) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            select(integration_logs).where(integration_logs.c.error_code == code)
        )
        return [dict(row) for row in rows.mappings()]


async def sync_pending(container: Container) -> bool:
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.id).where(
                outbox.c.kind == "salesforce.sync_payment", outbox.c.status == "pending"
            )
        )
        return bool(rows.all())


async def assert_settled_declined(
    container: Container, client: httpx.AsyncClient, pid: str, *, because: str
) -> None:
    body = await view(client, pid)
    (capture,) = [a for a in body["actions"] if a["type"] == "capture"]
    assert capture["status"] == "Declined"
    assert body["status"] == "Authorized"
    assert body["amounts"]["available_to_capture"] == "149.90"  # nothing reserved any more
    (log,) = await error_logs(container, "action_abandoned")
    assert (log["level"], log["operation"], log["checkout_payment_id"]) == (
        "ERROR",
        "payments.capture",
        pid,
    )
    assert because in log["message"]
    assert await sync_pending(container)  # Salesforce hears of it


async def test_a_hold_never_answered_past_the_idempotency_window_is_declined(
    env: tuple[Container, httpx.AsyncClient],
    checkout_sim: CheckoutSimulator,
    clock: ShiftedClock,
) -> None:
    container, client = env
    pid = await create(client, capture=False)
    checkout_sim.fail_next = FOREVER
    first = await act(client, pid, "captures", {"amount": 40}, key="capture-key-1")
    assert first.status_code == 503
    assert (await view(client, pid))["amounts"]["available_to_capture"] == "109.90"

    clock.advance(24 * HOUR)  # Checkout.com replays a key for 24 h: re-sending could act twice
    captures_before = len(checkout_sim.calls("POST", f"/payments/{pid}/captures"))
    await build_worker(container).drain()

    assert len(checkout_sim.calls("POST", f"/payments/{pid}/captures")) == captures_before
    await assert_settled_declined(container, client, pid, because="idempotency window")
    checkout_sim.fail_next = 0
    again = await act(client, pid, "captures", {"amount": 40}, key="capture-key-1")
    assert (again.status_code, again.json()["error"]["code"]) == (502, "action_abandoned")
    void = await act(client, pid, "voids", {})
    assert void.status_code == 202  # voids are allowed again


async def test_a_401_after_a_key_rotation_declines_the_hold(
    env: tuple[Container, httpx.AsyncClient],
    checkout_sim: CheckoutSimulator,
    clock: ShiftedClock,
) -> None:
    container, client = env
    pid = await create(client, capture=False)
    checkout_sim.secret_key = "sk_sbox_rotated"  # our key no longer works
    refused = await act(client, pid, "captures", {"amount": 40})
    assert refused.status_code == 502  # not final: the key is given back, the hold kept
    assert (await view(client, pid))["actions"][-1]["status"] == "Requested"

    clock.advance(60)  # the request's lock lapses: recovery takes it up
    await build_worker(container).drain()

    await assert_settled_declined(container, client, pid, because="credentials")


async def test_a_recovery_out_of_attempts_declines_the_hold(
    env: tuple[Container, httpx.AsyncClient],
    checkout_sim: CheckoutSimulator,
    clock: ShiftedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    container, client = env
    pid = await create(client, capture=False)
    checkout_sim.fail_next = 3  # the request's own call gets no answer
    assert (await act(client, pid, "captures", {"amount": 40})).status_code == 503

    async def broken(*_args: object) -> None:
        raise RuntimeError("a defect in the recovery path")

    monkeypatch.setattr(container.actions, "_call", broken)
    for _ in range(2):  # max_attempts = 2: the second run is the last
        clock.advance(HOUR)
        await build_worker(container).drain()

    await assert_settled_declined(container, client, pid, because="last attempt")
    async with container.engine.connect() as conn:
        (task,) = (
            await conn.execute(select(outbox).where(outbox.c.kind == RECOVER_TASK))
        ).mappings()
    assert task["status"] == "dead"


async def test_a_webhook_amount_other_than_the_hold_wins_and_is_an_error(
    env: tuple[Container, httpx.AsyncClient],
) -> None:
    container, client = env
    pid = await create(client, capture=False)
    accepted = await act(client, pid, "captures", {"amount": 40})
    assert accepted.status_code == 202
    action_id = accepted.json()["action_id"]

    raw, headers = signed(event("payment_captured", pid, action_id=action_id, amount=3000))
    assert (await client.post("/v1/webhooks/checkout", content=raw, headers=headers)).is_success
    await build_worker(container).drain()

    body = await view(client, pid)
    (capture,) = [a for a in body["actions"] if a["type"] == "capture"]
    assert (capture["status"], capture["amount"]) == ("Succeeded", "30.00")
    assert body["amounts"]["captured"] == "30.00"
    (log,) = await error_logs(container, "amount_mismatch")
    assert log["level"] == "ERROR"
    assert log["cko_action_id"] == action_id
    assert "3000" in log["message"]
    assert "4000" in log["message"]


async def test_refunding_the_rest_sends_the_reserved_amount(
    env: tuple[Container, httpx.AsyncClient], checkout_sim: CheckoutSimulator
) -> None:
    """Left out, Checkout.com would refund "the full payment amount" (nas-openapi.json,
    RefundRequest.amount), not what paybridge reserved: the rest after a partial refund."""
    _container, client = env
    pid = await create(client, capture=True)
    assert (await act(client, pid, "refunds", {"amount": 50})).status_code == 202
    rest = await act(client, pid, "refunds", {})

    assert rest.json()["amount"] == "99.90"
    sent = checkout_sim.calls("POST", f"/payments/{pid}/refunds")
    assert [body["amount"] for body in sent] == [5000, 9990]
    for body in sent:
        validate_against_spec(body, "RefundRequest")
