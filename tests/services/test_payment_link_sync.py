"""Payment Links in the simulated Salesforce: the link's record (`CKO_Payment_Link__c`, full
state, upserted on `CKO_Link_Id__c`) from creation to Paid or Expired, with the payment made
through it and its Order."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from paybridge.app import create_app
from paybridge.sandbox.checkout_cards import LINK_CARD_APPROVED, LINK_CARD_DECLINED
from paybridge.sandbox.checkout_webhooks import WebhookSender
from tests.api.payloads import CUSTOMER, ORDER
from tests.salesforce_env import ORDER_ID, Env, salesforce_env
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator

LINK = "CKO_Payment_Link__c"


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


@asynccontextmanager
async def delivering(env: Env, checkout: CheckoutSimulator) -> AsyncIterator[WebhookSender]:
    """The simulated Checkout.com's signed webhooks, delivered to paybridge's route."""
    sender = WebhookSender(signature_key="whsec-test-key-1", retry_backoff_s=0.01)
    app = create_app(container=env.container)
    sender.connect(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://paybridge.test")
    )
    checkout.webhooks = sender
    try:
        yield sender
    finally:
        await sender.aclose()


async def create_link(env: Env, key: str, **extra: Any) -> str:
    body = {"order": copy.deepcopy(ORDER), "customer": copy.deepcopy(CUSTOMER), **extra}
    response = await env.http.post("/v1/payment-links", json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    link_id: str = response.json()["link_id"]
    return link_id


async def test_a_link_is_mirrored_then_shown_paid_with_its_payment_and_order(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with (
        salesforce_env(pg_url, sim, checkout_sim) as env,
        delivering(env, checkout_sim) as webhooks,
    ):
        link_id = await create_link(env, "sf-link-1")
        await env.drain()
        active = copy.deepcopy(sim.get(LINK, "CKO_Link_Id__c", link_id))

        declined = checkout_sim.pay_link(link_id, card=LINK_CARD_DECLINED)
        paid = checkout_sim.pay_link(link_id, card=LINK_CARD_APPROVED)
        assert await webhooks.wait_idle(10)
        await env.drain()

        record = sim.get(LINK, "CKO_Link_Id__c", link_id)
        payment = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", paid.id)
        failed = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", declined.id)
        order = sim.records["Order"][ORDER_ID]

    assert active is not None
    assert active["Status__c"] == "Active"
    assert active["Order__c"] == ORDER_ID
    assert active["Url__c"] == f"{checkout_sim.link_page_base}/{link_id}"
    assert active["Amount__c"] == Decimal("149.9")
    assert active["Currency__c"] == "EUR"
    assert active["Expires_At__c"]
    assert record is not None
    assert payment is not None
    assert failed is not None
    assert record["Status__c"] == "Paid"
    assert record["Payment__c"] == payment["Id"]
    assert len(sim.find(LINK, "CKO_Link_Id__c", link_id)) == 1  # upserted, not duplicated
    assert payment["Order__c"] == ORDER_ID
    assert failed["Status__c"] == "Declined"
    assert order["CKO_Payment_Id__c"] == paid.id
    assert order["CKO_Amount_Captured__c"] == Decimal("149.9")


async def test_an_expired_link_is_shown_expired(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        links = [await create_link(env, f"sf-link-exp-{n}", expires_in=60) for n in range(3)]
        await env.drain()
        for link_id in links:
            checkout_sim.expire_link(link_id)
        # Past the expiry Checkout.com stated (the simulator's own clock is the real one).
        env.clock.now = max(checkout_sim.links[i].created_on for i in links) + timedelta(
            seconds=120
        )
        await env.container.payment_links.schedule_expiry_checks()
        await env.drain()

        records = [sim.get(LINK, "CKO_Link_Id__c", link_id) for link_id in links]

    assert [r["Status__c"] if r else None for r in records] == ["Expired"] * 3
