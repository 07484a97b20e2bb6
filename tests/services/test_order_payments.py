"""An Order with several payments: its Salesforce fields and `GET /v1/payments?order_id=…`
are a function of all of them, whatever order their events come in (DESIGN §5)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from paybridge.worker.tasks import build_worker
from tests.api.payloads import payment_body
from tests.checkout_webhook_samples import balances
from tests.salesforce_env import ORDER_ID, Env, salesforce_env
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator
from tests.webhook_events import event, signed

AMOUNT = 14990  # the Order's TotalAmount (tests.api.payloads), in minor units


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


async def create(env: Env, key: str, **overrides: Any) -> dict[str, Any]:
    """A payment through the API, a minute after the previous one (the Order's "latest")."""
    env.clock.now += timedelta(minutes=1)
    response = await env.http.post(
        "/v1/payments", json=payment_body(**overrides), headers={"Idempotency-Key": key}
    )
    assert response.status_code in {201, 202}, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliver(env: Env, body: dict[str, Any]) -> None:
    raw, headers = signed(body)
    response = await env.http.post("/v1/webhooks/checkout", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    await build_worker(env.container).drain()


def salesforce_order(sim: SalesforceSimulator) -> dict[str, Any]:
    order: dict[str, Any] = sim.records["Order"][ORDER_ID]
    return order


async def listed(env: Env) -> dict[str, Any]:
    response = await env.http.get("/v1/payments", params={"order_id": ORDER_ID})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def summary(payment_id: str, *, captured: str, refunded: str = "0.00") -> dict[str, Any]:
    """The `order` of `GET /v1/payments?order_id=…` for two EUR payments."""
    return {
        "payment_id": payment_id,
        "status": "Captured",
        "currency": "EUR",
        "captured": captured,
        "refunded": refunded,
        "payments": 2,
    }


async def capture_by_webhook(env: Env, payment_id: str) -> None:
    totals = balances(authorized=AMOUNT, captured=AMOUNT, capture_closed=True)
    captured = event("payment_captured", payment_id, action_id=f"act_cap_{payment_id[-8:]}")
    captured["data"]["balances"] = totals
    await deliver(env, captured)


@pytest.mark.parametrize("failure_first", [False, True], ids=["late-failure", "failure-first"])
async def test_late_failure_of_an_abandoned_attempt_leaves_the_paid_order_paid(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator, failure_first: bool
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        abandoned = (await create(env, "key-order-3ds", three_ds=True))["payment_id"]
        failure = event("payment_authentication_failed", abandoned, action_id="act_abandoned3ds")
        if failure_first:
            await deliver(env, failure)
        paid = (await create(env, "key-order-paid"))["payment_id"]
        await capture_by_webhook(env, paid)
        if not failure_first:
            await deliver(env, failure)  # the abandoned attempt's failure, after the payment
        await env.drain()

        order = salesforce_order(sim)
        assert order["CKO_Payment_Id__c"] == paid
        assert order["CKO_Payment_Status__c"] == "Captured"
        assert Decimal(str(order["CKO_Amount_Captured__c"])) == Decimal("149.90")
        assert Decimal(str(order["CKO_Amount_Refunded__c"])) == Decimal("0.00")

        body = await listed(env)
        assert {p["payment_id"]: p["status"] for p in body["payments"]} == {
            abandoned: "Declined",
            paid: "Captured",
        }
        assert body["order"] == summary(paid, captured="149.90")


async def test_split_tender_sums_the_payments_of_the_order(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        first = (await create(env, "key-split-1"))["payment_id"]
        second = (await create(env, "key-split-2"))["payment_id"]
        await capture_by_webhook(env, first)
        refund = event("payment_refunded", first, action_id="act_split_refund", amount=4990)
        refund["data"]["balances"] = balances(
            authorized=AMOUNT, captured=AMOUNT, refunded=4990, capture_closed=True
        )
        await deliver(env, refund)
        await capture_by_webhook(env, second)
        await env.drain()

        order = salesforce_order(sim)
        assert order["CKO_Payment_Id__c"] == second  # the latest approved payment
        assert order["CKO_Payment_Status__c"] == "Captured"
        assert Decimal(str(order["CKO_Amount_Captured__c"])) == Decimal("299.80")
        assert Decimal(str(order["CKO_Amount_Refunded__c"])) == Decimal("49.90")
        assert (await listed(env))["order"] == summary(second, captured="299.80", refunded="49.90")


async def test_order_of_declined_tries_only_shows_the_latest(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        tries = []
        for n in range(2):
            pid = (await create(env, f"key-declined-{n}", three_ds=True))["payment_id"]
            await deliver(env, event("payment_declined", pid, action_id=f"act_declined_{n}"))
            tries.append(pid)
        await env.drain()

        order = salesforce_order(sim)
        assert order["CKO_Payment_Id__c"] == tries[-1]
        assert order["CKO_Payment_Status__c"] == "Declined"
        assert Decimal(str(order["CKO_Amount_Captured__c"])) == Decimal("0.00")


async def test_no_payments_no_order_summary(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/payments", params={"order_id": ORDER_ID})).json()
    assert body == {"payments": [], "order": None}
