"""Salesforce's and Checkout.com's side of the conversation: API calls and signed webhooks,
over real HTTP to a running paybridge."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.payloads import payment_body
from tests.e2e.harness import API_KEY, HTTP_TIMEOUT, Stack
from tests.webhook_events import event, signed


def new_order() -> tuple[str, str]:
    """A fresh (Salesforce Order Id, OrderNumber) pair; the Id has 18 characters.

    Shaped like a real Id (key prefix, pod "5g", record number): a random run of 13+ digits
    would pass Luhn one time in ten and be refused as a card number."""
    tag = uuid.uuid4().hex[:12].upper()
    return f"8015g0{tag[:9]}AAA", f"E2E-{tag}"


def order_payment(order_id: str, number: str, **overrides: Any) -> dict[str, Any]:
    """A card payment body (149.90 EUR, authorize only) for the given Order."""
    body = payment_body(**overrides)
    body["order"]["Id"] = order_id
    body["order"]["OrderNumber"] = number
    return body


class PaybridgeClient:
    """One caller of one paybridge process (API key and signing key configured)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=HTTP_TIMEOUT
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def create(self, body: dict[str, Any], *, key: str) -> httpx.Response:
        return await self.http.post("/v1/payments", json=body, headers={"Idempotency-Key": key})

    async def act(self, payment_id: str, kind: str, *, key: str, **body: Any) -> httpx.Response:
        """`kind` is `captures`, `voids` or `refunds`."""
        return await self.http.post(
            f"/v1/payments/{payment_id}/{kind}", json=body, headers={"Idempotency-Key": key}
        )

    async def payment(self, payment_id: str) -> dict[str, Any]:
        view = await self.maybe_payment(payment_id)
        assert view is not None, f"paybridge does not know {payment_id}"
        return view

    async def maybe_payment(self, payment_id: str) -> dict[str, Any] | None:
        """The payment as `GET` shows it; None while paybridge has not heard of it."""
        response = await self.http.get(f"/v1/payments/{payment_id}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    async def deliver(self, body: dict[str, Any]) -> httpx.Response:
        raw, headers = signed(body)
        return await self.http.post("/v1/webhooks/checkout", content=raw, headers=headers)

    async def deliver_ok(self, body: dict[str, Any]) -> str:
        """Deliver and insist on 200; returns paybridge's receipt status."""
        response = await self.deliver(body)
        assert response.status_code == 200, response.text
        return str(response.json()["status"])


def action_event(
    event_type: str,
    view: dict[str, Any],
    *,
    action_id: str | None,
    amount_minor: int | None,
    created_on: str = "2026-11-28T12:00:00.0000000Z",
) -> dict[str, Any]:
    """A webhook about the payment `view` (as GET returns it), for one of its actions."""
    return event(
        event_type,
        view["payment_id"],
        action_id=action_id,
        amount=amount_minor,
        currency=view["currency"],
        reference=view["reference"],
        created_on=created_on,
    )


async def captured_payments(
    stack: Stack, api: PaybridgeClient, count: int
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`count` payments, each created and captured in full: {payment id: Order Id}, and the
    `payment_captured` webhook Checkout.com sends for each (not delivered yet)."""
    orders: dict[str, str] = {}
    events: list[dict[str, Any]] = []
    for _ in range(count):
        order_id, number = new_order()
        await stack.sims.seed_orders(order_id)
        created = await api.create(order_payment(order_id, number), key=f"create-{number}")
        assert created.status_code == 201, created.text
        view = created.json()
        capture = await api.act(view["payment_id"], "captures", key=f"capture-{number}")
        assert capture.status_code == 202, capture.text
        action_id = capture.json()["action_id"]
        events.append(
            action_event("payment_captured", view, action_id=action_id, amount_minor=14990)
        )
        orders[view["payment_id"]] = order_id
    return orders, events
