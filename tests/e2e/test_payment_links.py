"""Payment Links over real HTTP: a link created from an Order, paid by the shopper on the
simulated hosted page (a decline first, then an approval, on the same link), the
simulator's signed webhooks, one `paybridge serve` — and what Salesforce ends up with; and a
link that expires unpaid."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from paybridge.sandbox.checkout_cards import LINK_CARD_APPROVED, LINK_CARD_DECLINED
from tests.api.payloads import CUSTOMER, ORDER
from tests.e2e.client import new_order
from tests.e2e.harness import API_KEY, Stack
from tests.e2e.processes import eventually

WAIT_S = 60.0


@pytest.fixture(scope="module")
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    server = await stack.serve("links", env={"PAYBRIDGE_PAYMENT_LINK_EXPIRY_CHECK_S": "0.5"})
    await stack.sims.checkout_control("webhooks", url=server.base_url)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"X-API-Key": API_KEY}, timeout=30.0
    ) as client:
        yield client


async def create_link(stack: Stack, api: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    order = {**copy.deepcopy(ORDER), "Id": order_id, "OrderNumber": number}
    body = {"order": order, "customer": copy.deepcopy(CUSTOMER), **extra}
    response = await api.post(
        "/v1/payment-links", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def records(state: dict[str, Any], sobject: str, field: str, value: str) -> list[dict[str, Any]]:
    return [r for r in state["records"].get(sobject, []) if r.get(field) == value]


async def test_link_paid_after_a_decline_is_paid_in_salesforce(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    link = await create_link(stack, api)
    link_id = link["link_id"]

    declined = await stack.sims.checkout_control(
        "pay_link", link_id=link_id, card=LINK_CARD_DECLINED
    )
    assert declined["approved"] is False
    approved = await stack.sims.checkout_control(
        "pay_link", link_id=link_id, card=LINK_CARD_APPROVED
    )
    assert approved["approved"] is True
    paid_id = approved["payment_id"]

    async def mirrored() -> dict[str, Any] | None:
        state = await stack.sims.salesforce_state()
        rows = records(state, "CKO_Payment_Link__c", "CKO_Link_Id__c", link_id)
        order = records(state, "Order", "Id", link["order_id"])
        done = (
            rows
            and rows[0].get("Status__c") == "Paid"
            and order
            and order[0].get("CKO_Payment_Id__c") == paid_id
            and order[0].get("CKO_Amount_Captured__c") == Decimal("149.90")
        )
        return state if done else None

    state = await eventually(mirrored, timeout_s=WAIT_S, what="the paid link in Salesforce")
    view = (await api.get(f"/v1/payment-links/{link_id}")).json()
    (record,) = records(state, "CKO_Payment_Link__c", "CKO_Link_Id__c", link_id)
    (payment,) = records(state, "CKO_Payment__c", "CKO_Payment_Id__c", paid_id)
    (failed,) = records(state, "CKO_Payment__c", "CKO_Payment_Id__c", declined["payment_id"])
    (order,) = records(state, "Order", "Id", link["order_id"])
    assert (view["status"], view["payment_id"]) == ("Paid", paid_id)
    assert record["Payment__c"] == payment["Id"]
    assert record["Order__c"] == link["order_id"]
    assert payment["Order__c"] == link["order_id"]
    assert failed["Status__c"] == "Declined"
    assert order["CKO_Payment_Status__c"] == "Captured"


async def test_link_left_unpaid_is_expired_in_salesforce(
    stack: Stack, api: httpx.AsyncClient
) -> None:
    link = await create_link(stack, api, expires_in=1)
    link_id = link["link_id"]
    await stack.sims.checkout_control("expire_link", link_id=link_id)

    async def expired() -> dict[str, Any] | None:
        state = await stack.sims.salesforce_state()
        rows = records(state, "CKO_Payment_Link__c", "CKO_Link_Id__c", link_id)
        return rows[0] if rows and rows[0].get("Status__c") == "Expired" else None

    record = await eventually(expired, timeout_s=WAIT_S, what="the expired link in Salesforce")
    view = (await api.get(f"/v1/payment-links/{link_id}")).json()
    assert view["status"] == "Expired"
    assert record.get("Payment__c") is None
    paid = await stack.sims.checkout_control("pay_link", link_id=link_id, card=LINK_CARD_APPROVED)
    assert paid["payment_id"] is None  # an expired link takes no payment
