"""End to end, the Commerce Payments loop (DESIGN §5 `commerce`): Order Management's Ensure
Funds / Ensure Refunds / cancel → the gateway adapter (a Python stand-in for the Apex) →
paybridge → simulated Checkout.com → its signed webhook → paybridge's signed gateway
notification → the simulated org's notification endpoint, which completes the pending record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from paybridge.app import create_app
from paybridge.persistence.tables import gateway_requests, integration_logs
from paybridge.sandbox.checkout_webhooks import WebhookSender
from paybridge.sandbox.transports import LosingResponses
from tests.api.payloads import payment_body
from tests.gateway_adapter import GatewayAdapterStandIn, storefront_authorization
from tests.salesforce_env import ORDER_ID, Env, outbox_rows, salesforce_env
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator
from tests.webhook_events import event, signed

SECRET = "whsec-gateway-0123456789abcdef0123456789"
WEBHOOKS = "/v1/webhooks/checkout"
AUTHORIZED = Decimal("149.90")  # payment_body()'s Order total


@dataclass
class Loop:
    env: Env
    sim: SalesforceSimulator
    adapter: GatewayAdapterStandIn
    webhooks: WebhookSender
    checkout: LosingResponses  # Checkout.com, whose answers a test may lose

    async def settle(self) -> None:
        """Checkout.com's webhooks arrive, the worker runs everything due."""
        assert await self.webhooks.wait_idle()
        await self.env.drain()

    async def authorize(self) -> str:
        """The storefront's authorization (through paybridge, as a cartridge would)."""
        created = await self.env.http.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "key-auth-00001"}
        )
        assert created.status_code == 201, created.text
        await self.settle()
        return str(created.json()["payment_id"])


@asynccontextmanager
async def loop(
    pg_url: str, checkout_sim: CheckoutSimulator, *, org_secret: str = SECRET
) -> AsyncIterator[Loop]:
    sim = SalesforceSimulator()
    notify_url = (
        f"{sim.instance_url}/services/data/v{sim.api_version}/commerce/payments/notify"
        "?provider=0cJ5g000000sim01"
    )
    gateway = {"notification_url": notify_url, "notification_secrets": [SECRET]}
    checkout = LosingResponses(checkout_sim.transport())
    async with salesforce_env(
        pg_url, sim, checkout_sim, checkout_transport=checkout, profile="commerce", gateway=gateway
    ) as env:
        sim.payments.secret = org_secret
        webhooks = WebhookSender(signature_key="whsec-test-key-1", retry_backoff_s=0.01)
        checkout_sim.webhooks = webhooks
        paybridge = httpx.ASGITransport(app=create_app(container=env.container))
        webhooks.connect(httpx.AsyncClient(transport=paybridge, base_url="http://paybridge.test"))
        try:
            adapter = GatewayAdapterStandIn(env.http, sim.payments)
            yield Loop(env, sim, adapter, webhooks, checkout)
        finally:
            await webhooks.aclose()


async def test_ensure_funds_and_refunds_complete_by_signed_notification(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()

        capture = await run.adapter.capture(
            pid, Decimal("50.00"), authorized=AUTHORIZED, key="sf-idem-capture-0001"
        )
        assert (capture.result_code, capture.is_async) == ("Success", True)
        assert run.sim.payments.pending[str(capture.reference)].status == "Pending"
        await run.settle()

        platform = run.sim.payments
        assert platform.pending[str(capture.reference)].status == "Processed"
        (notice,) = platform.notifications
        assert notice == {
            "type": "capture",
            "status": "Succeeded",
            "payment_id": pid,
            "action_id": capture.reference,
            "amount": "50.00",
            "currency": "EUR",
            "response_code": "10000",
            "response_summary": "Approved",
            "processed_at": notice["processed_at"],
        }
        # Partial: paybridge did not void the rest (only the last capture is final).
        sent = [body for method, path, _, body in checkout_sim.requests if "/captures" in path]
        assert sent[-1].get("capture_type") == "NonFinal"

        refund = await run.adapter.refund(pid, Decimal("20.00"), key="sf-idem-refund-0001")
        assert (refund.result_code, refund.is_async) == ("Success", True)
        await run.settle()

        assert platform.pending[str(refund.reference)].status == "Processed"
        assert [n["type"] for n in platform.notifications] == ["capture", "refund"]
        assert platform.refused == []
        # The commerce profile wrote the Order and logs, never the platform's objects.
        for owned in ("PaymentAuthorization", "Payment", "Refund", "PaymentGatewayLog"):
            assert not run.sim.records.get(owned)
        logs = await _logs(run.env, "gateway.notify_")
        assert sorted(row["operation"] for row in logs) == [
            "gateway.notify_capture",
            "gateway.notify_refund",
        ]
        assert {row["http_status"] for row in logs} == {200}


async def test_a_storefront_authorization_paybridge_never_saw_is_adopted_then_captured(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    """The cartridge authorized at Checkout.com; Order Management imported it with
    GatewayRefNumber = the pay_ id; Ensure Funds is the first paybridge hears of it."""
    async with loop(pg_url, checkout_sim) as run:
        pid = storefront_authorization(
            checkout_sim, reference="SFCC-00000200", metadata={"sf_order_id": ORDER_ID}
        )

        capture = await run.adapter.capture(
            pid, AUTHORIZED, authorized=AUTHORIZED, key="sf-idem-capture-0009"
        )
        await run.settle()

        assert (capture.result_code, capture.is_async) == ("Success", True)
        view = (await run.env.http.get(f"/v1/payments/{pid}")).json()
        assert (view["status"], view["order_id"], view["reference"]) == (
            "Captured",
            ORDER_ID,
            "SFCC-00000200",
        )
        assert sorted(a["type"] for a in view["actions"]) == ["authorization", "capture"]
        assert [n["action_id"] for n in run.sim.payments.notifications] == [capture.reference]
        assert run.sim.records["Order"][ORDER_ID]["CKO_Payment_Status__c"] == "Captured"


async def test_each_action_is_notified_once_whatever_is_replayed(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()
        capture = await run.adapter.capture(
            pid, Decimal("50.00"), authorized=AUTHORIZED, key="sf-idem-capture-0002"
        )
        await run.settle()
        calls = len(checkout_sim.requests)

        # The platform retries with the same idempotency key: paybridge replays its answer.
        again = await run.adapter.capture(
            pid, Decimal("50.00"), authorized=AUTHORIZED, key="sf-idem-capture-0002"
        )
        # Checkout.com redelivers the webhook; an operator replays it too.
        for delivery in list(run.webhooks.deliveries):
            await run.env.container.webhooks.replay(delivery.event_id)
        await run.settle()

        assert again.reference == capture.reference
        assert len(checkout_sim.requests) == calls
        assert len(run.sim.payments.notifications) == 1
        assert await outbox_rows(run.env.container, "gateway.notify") != []
        async with run.env.container.engine.connect() as conn:
            (row,) = (await conn.execute(select(gateway_requests))).mappings().all()
        assert (row["checkout_action_id"], row["notified_status"]) == (capture.reference, 200)


async def test_a_webhook_that_beats_the_answer_is_notified_once_the_retry_records_it(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    """Checkout.com captured but its answer was lost: the adapter reports a system error, the
    webhook brings the action, and the platform's retry (same key) links it to the request."""
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()
        run.checkout.lose_next = 3  # every attempt of the synchronous path

        lost = await run.adapter.capture(
            pid, Decimal("50.00"), authorized=AUTHORIZED, key="sf-idem-capture-0008"
        )
        await run.settle()
        assert lost.result_code == "SystemError"
        assert run.sim.payments.notifications == []

        retried = await run.adapter.capture(
            pid, Decimal("50.00"), authorized=AUTHORIZED, key="sf-idem-capture-0008"
        )
        await run.env.drain()

        assert retried.result_code == "Success"
        assert len(checkout_sim.payments[pid].actions) == 1
        assert [n["action_id"] for n in run.sim.payments.notifications] == [retried.reference]


async def test_a_reversal_is_done_at_once_and_its_notification_only_acknowledged(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()

        reversal = await run.adapter.reverse(pid, key="sf-idem-reverse-0001")
        await run.settle()

        assert (reversal.result_code, reversal.is_async) == ("Success", False)
        assert [n["type"] for n in run.sim.payments.notifications] == ["void"]
        assert run.sim.payments.pending == {}


async def test_a_declined_reversal_is_an_error_log_since_the_platform_took_it_as_done(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()
        checkout_sim.webhooks = None  # this time Checkout.com's own webhook says: declined

        reversal = await run.adapter.reverse(pid, key="sf-idem-reverse-0002")
        raw, headers = signed(
            event("payment_void_declined", pid, action_id=reversal.reference, amount=14990)
        )
        delivered = await run.env.http.post(WEBHOOKS, content=raw, headers=headers)
        await run.env.drain()

        assert delivered.status_code == 200
        assert reversal.result_code == "Success"
        assert [(n["type"], n["status"]) for n in run.sim.payments.notifications] == [
            ("void", "Declined")
        ]
        (log,) = await _logs(run.env, "gateway.notify_")
        assert (log["level"], log["error_code"]) == ("ERROR", "reversal_declined")
        view = (await run.env.http.get(f"/v1/payments/{pid}")).json()
        assert view["status"] == "Authorized"


async def test_actions_salesforce_asks_for_outside_the_adapter_are_not_notified(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()

        response = await run.env.http.post(
            f"/v1/payments/{pid}/captures",
            json={"amount": 10},
            headers={"Idempotency-Key": "flow-capture-0001"},
        )
        assert response.status_code == 202
        await run.settle()

        assert run.sim.payments.notifications == []
        assert await outbox_rows(run.env.container, "gateway.notify") == []


async def test_a_refusal_by_paybridge_is_a_decline_and_sends_nothing(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()

        declined = await run.adapter.capture(
            pid, Decimal("500.00"), authorized=AUTHORIZED, key="sf-idem-capture-0003"
        )
        unknown = await run.adapter.capture(
            "pay_neverseen00000000000000", Decimal("1.00"), authorized=AUTHORIZED,
            key="sf-idem-capture-0004",
        )  # fmt: skip
        await run.settle()

        assert (declined.result_code, declined.gateway_code) == (
            "Decline",
            "amount_exceeds_capturable",
        )
        assert (unknown.result_code, unknown.gateway_code) == ("Decline", "payment_not_found")
        assert run.sim.payments.notifications == []


async def test_a_notification_before_the_pending_record_is_committed_is_retried(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()
        run.adapter.record_pending = False

        capture = await run.adapter.capture(
            pid, Decimal("50.00"), authorized=AUTHORIZED, key="sf-idem-capture-0005"
        )
        await run.settle()

        assert run.sim.payments.refused == [409]
        (task,) = await outbox_rows(run.env.container, "gateway.notify")
        assert (task["status"], task["attempts"]) == ("pending", 1)

        run.adapter.commit_pending("capture", str(capture.reference), Decimal("50.00"))
        run.env.clock.now = task["next_attempt_at"]
        await run.env.drain()

        assert [n["action_id"] for n in run.sim.payments.notifications] == [capture.reference]


async def test_a_notification_the_org_refuses_is_parked_and_logged_as_an_error(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim, org_secret="another-secret-0123456789abcdef01") as run:
        pid = await run.authorize()

        await run.adapter.capture(
            pid, Decimal("50.00"), authorized=AUTHORIZED, key="sf-idem-capture-0006"
        )
        await run.settle()

        assert run.sim.payments.refused == [401]
        assert run.sim.payments.notifications == []
        (task,) = await outbox_rows(run.env.container, "gateway.notify")
        assert task["status"] == "dead"
        (log,) = await _logs(run.env, "gateway.notify_")
        assert (log["level"], log["http_status"]) == ("ERROR", 401)
        assert log["error_code"] == "notification_refused_401"


async def test_an_org_outage_delays_the_notification_without_spending_attempts(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    async with loop(pg_url, checkout_sim) as run:
        pid = await run.authorize()
        run.sim.payments.unavailable = 3

        await run.adapter.capture(
            pid, Decimal("50.00"), authorized=AUTHORIZED, key="sf-idem-capture-0007"
        )
        await run.settle()
        for _ in range(3):
            (task,) = await outbox_rows(run.env.container, "gateway.notify")
            assert (task["status"], task["attempts"]) == ("pending", 0)
            run.env.clock.now = task["next_attempt_at"]
            await run.env.drain()

        assert len(run.sim.payments.notifications) == 1
        (task,) = await outbox_rows(run.env.container, "gateway.notify")
        assert task["status"] == "done"


async def _logs(env: Env, prefix: str) -> list[dict[str, Any]]:
    async with env.container.engine.connect() as conn:
        query = select(integration_logs).where(integration_logs.c.operation.startswith(prefix))
        return [dict(row) for row in (await conn.execute(query)).mappings()]
