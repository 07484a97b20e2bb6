"""/v1/payment-links against the Checkout.com simulator and a real PostgreSQL: creation under
the API's idempotency rules, reads, refusals, and the link's payment arriving by webhooks.

Request shapes are checked against Checkout.com's `PaymentLinksRequest` schema (NAS spec,
`POST /payment-links`)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from paybridge.container import Container
from paybridge.persistence.tables import outbox, payment_links, payments
from paybridge.sandbox.checkout_cards import LINK_CARD_APPROVED, LINK_CARD_DECLINED
from paybridge.sandbox.checkout_webhooks import WebhookSender
from paybridge.worker.tasks import build_worker
from tests.api.payloads import CUSTOMER, ORDER
from tests.checkout_spec import validate_against_spec
from tests.conftest import ShiftedClock
from tests.simulators.checkout import CheckoutSimulator, LosingResponses

ORDER_ID = "8015g00000AbCdEAAV"


def link_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"order": copy.deepcopy(ORDER), "customer": copy.deepcopy(CUSTOMER)}
    body.update(overrides)
    return body


async def post_link(
    client: httpx.AsyncClient, body: dict[str, Any], key: str = "link-key-0001"
) -> httpx.Response:
    return await client.post("/v1/payment-links", json=body, headers={"Idempotency-Key": key})


async def count(container: Container, table: Any) -> int:
    async with container.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


@pytest.fixture
async def webhooks(app: FastAPI, checkout_sim: CheckoutSimulator) -> AsyncIterator[WebhookSender]:
    """The simulator's webhooks, signed and delivered to paybridge's own route."""
    sender = WebhookSender(signature_key="whsec-test-key-1", retry_backoff_s=0.01)
    sender.connect(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://paybridge.test")
    )
    checkout_sim.webhooks = sender
    yield sender
    await sender.aclose()


async def test_link_is_created_from_the_order_with_the_markets_decisions(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    response = await post_link(client, link_body(expires_in=604800, locale="nl-NL"))

    assert response.status_code == 201
    body = response.json()
    assert body["link_id"].startswith("pl_")
    assert body["status"] == "Active"
    assert body["url"] == f"{checkout_sim.link_page_base}/{body['link_id']}"
    assert body["amount"] == "149.90"
    assert body["amount_minor"] == 14990
    assert (body["currency"], body["reference"], body["order_id"]) == ("EUR", "00000100", ORDER_ID)
    assert body["payment_id"] is None
    assert body["expires_at"] == checkout_sim.links[body["link_id"]].expires_on.isoformat().replace(
        "+00:00", "Z"
    )

    sent = checkout_sim.calls("POST", "/payment-links")[0]
    validate_against_spec(sent, "PaymentLinksRequest")
    assert sent["amount"] == 14990
    assert sent["reference"] == "00000100"
    assert sent["expires_in"] == 604800
    assert sent["locale"] == "nl-NL"
    assert sent["billing"] == {
        "address": {
            "address_line1": "Keizersgracht 1",
            "address_line2": "Second floor",
            "city": "Amsterdam",
            "zip": "1015 CJ",
            "country": "NL",
        }
    }
    assert sent["customer"] == {"email": "ana@example.com", "name": "Ana de Vries"}
    # No markets file: cards, and the local methods a NL/EUR order can use.
    assert sent["allow_payment_methods"] == ["card", "ideal"]
    assert sent["capture"] is True
    assert sent["metadata"]["sf_order_id"] == ORDER_ID
    assert sent["metadata"]["paybridge_link_id"]
    assert "paybridge_payment_id" not in sent["metadata"]
    headers = next(h for _, p, h, _ in checkout_sim.requests if p == "/payment-links")
    assert headers["cko-idempotency-key"]
    assert await count(container, payment_links) == 1


async def test_same_key_replays_and_a_different_body_is_refused(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    first = await post_link(client, link_body())
    again = await post_link(client, link_body())
    other = await post_link(client, link_body(expires_in=3600))

    assert again.status_code == 201
    assert again.json() == first.json()
    assert len(checkout_sim.calls("POST", "/payment-links")) == 1
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_a_retry_while_the_first_is_in_flight_is_409(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    checkout_sim.latency_s = 0.5  # the first request is still at Checkout.com
    first, second = await asyncio.gather(
        post_link(client, link_body(), key="link-key-busy"),
        post_link(client, link_body(), key="link-key-busy"),
    )

    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409]
    busy = first if first.status_code == 409 else second
    assert busy.json()["error"]["code"] == "idempotency_key_in_flight"
    assert len(checkout_sim.calls("POST", "/payment-links")) == 1


async def test_checkout_refusal_is_stored_and_replayed(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    checkout_sim.fail_next, checkout_sim.fail_status = 1, 422
    refused = await post_link(client, link_body(), key="link-key-refused")
    replay = await post_link(client, link_body(), key="link-key-refused")

    assert refused.status_code == 422
    assert replay.status_code == 422
    assert replay.json()["error"]["code"] == refused.json()["error"]["code"]
    assert len(checkout_sim.calls("POST", "/payment-links")) == 1


async def test_worker_finishes_a_create_whose_caller_never_retried(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    checkout_sim: CheckoutSimulator,
    lossy_transport: LosingResponses,
) -> None:
    lossy_transport.lose_next = 3
    lost = await post_link(client, link_body(), key="link-key-lost")
    assert lost.status_code == 503
    assert len(checkout_sim.links) == 1  # Checkout.com made it; paybridge never heard

    assert await build_worker(container).drain() == 0  # the caller may still retry
    clock.advance(36)
    assert await build_worker(container).drain() == 1

    assert len(checkout_sim.links) == 1  # the same Cko-Idempotency-Key: replayed, not re-made
    assert await count(container, payment_links) == 1
    replay = await post_link(client, link_body(), key="link-key-lost")
    assert replay.status_code == 201
    assert replay.json()["link_id"] in checkout_sim.links


async def test_get_and_list_by_order(client: httpx.AsyncClient) -> None:
    first = await post_link(client, link_body(), key="link-key-first")
    second = await post_link(client, link_body(expires_in=60), key="link-key-second")

    one = await client.get(f"/v1/payment-links/{second.json()['link_id']}")
    listed = await client.get("/v1/payment-links", params={"order_id": ORDER_ID})
    missing = await client.get("/v1/payment-links/pl_unknown00000")

    assert one.status_code == 200
    assert one.json() == second.json()
    assert [link["link_id"] for link in listed.json()["links"]] == [
        first.json()["link_id"],
        second.json()["link_id"],
    ]
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "payment_link_not_found"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"expires_in": 0}, "expires_in"),
        ({"expires_in": 1_209_601}, "expires_in"),
        ({"allow_payment_methods": ["bancontact"]}, "allow_payment_methods[0]"),
        ({"allow_payment_methods": ["card", "paypal"]}, "allow_payment_methods[1]"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    checkout_sim: CheckoutSimulator,
    overrides: dict[str, Any],
    field: str,
) -> None:
    response = await post_link(client, link_body(**overrides))

    assert response.status_code == 422
    fields = [detail["field"] for detail in response.json()["error"]["details"]]
    assert field in fields
    assert checkout_sim.calls("POST", "/payment-links") == []


@pytest.mark.parametrize(
    ("order", "field"),
    [
        ({"TotalAmount": 149.905}, "order.TotalAmount"),
        ({"CurrencyIsoCode": "JPY", "TotalAmount": 1500.5}, "order.TotalAmount"),
        ({"BillingCountryCode": None}, "order.BillingCountryCode"),
    ],
)
async def test_order_a_link_cannot_carry_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    checkout_sim: CheckoutSimulator,
    order: dict[str, Any],
    field: str,
) -> None:
    body = link_body()
    body["order"].update(order)
    response = await post_link(client, body)

    assert response.status_code == 422
    assert field in [detail["field"] for detail in response.json()["error"]["details"]]
    assert checkout_sim.calls("POST", "/payment-links") == []


async def test_link_payment_arrives_by_webhooks_declined_then_approved(
    client: httpx.AsyncClient,
    container: Container,
    checkout_sim: CheckoutSimulator,
    webhooks: WebhookSender,
) -> None:
    link_id = (await post_link(client, link_body())).json()["link_id"]

    declined = checkout_sim.pay_link(link_id, card=LINK_CARD_DECLINED)
    assert await webhooks.wait_idle(10)
    await build_worker(container).drain()
    after_decline = (await client.get(f"/v1/payment-links/{link_id}")).json()

    approved = checkout_sim.pay_link(link_id, card=LINK_CARD_APPROVED)
    assert await webhooks.wait_idle(10)
    await build_worker(container).drain()
    after_payment = (await client.get(f"/v1/payment-links/{link_id}")).json()
    order = (await client.get("/v1/payments", params={"order_id": ORDER_ID})).json()

    assert after_decline["status"] == "Active"
    assert after_decline["payment_id"] is None
    assert after_payment["status"] == "Paid"
    assert after_payment["payment_id"] == approved.id
    by_id = {p["payment_id"]: p for p in order["payments"]}
    assert by_id[declined.id]["status"] == "Declined"
    assert by_id[approved.id]["status"] == "Captured"
    assert by_id[approved.id]["amount"] == "149.90"
    assert order["order"]["payment_id"] == approved.id
    assert checkout_sim.pay_link(link_id, card=LINK_CARD_APPROVED) is None  # paid: closed


async def test_link_payment_without_link_metadata_is_linked_by_reference(
    client: httpx.AsyncClient,
    container: Container,
    checkout_sim: CheckoutSimulator,
    webhooks: WebhookSender,
) -> None:
    link_id = (await post_link(client, link_body())).json()["link_id"]
    # A link made outside paybridge's metadata (e.g. an older integration): reference only.
    checkout_sim.links[link_id].metadata = {}

    payment = checkout_sim.pay_link(link_id, card=LINK_CARD_APPROVED)
    assert await webhooks.wait_idle(10)
    await build_worker(container).drain()

    link = (await client.get(f"/v1/payment-links/{link_id}")).json()
    assert (link["status"], link["payment_id"]) == ("Paid", payment.id)
    async with container.engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(payments).where(payments.c.checkout_payment_id == payment.id)
                )
            )
            .mappings()
            .one()
        )
    assert row["order_id"] == ORDER_ID


async def test_active_link_past_expiry_is_asked_about_and_marked_expired(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    checkout_sim: CheckoutSimulator,
) -> None:
    link_id = (await post_link(client, link_body(expires_in=60))).json()["link_id"]

    assert await container.payment_links.check_expired() == 0  # not yet due
    assert checkout_sim.calls("GET", "/payment-links") == []
    checkout_sim.expire_link(link_id)
    clock.advance(120)
    await container.payment_links.schedule_expiry_checks()
    await build_worker(container).drain()

    link = (await client.get(f"/v1/payment-links/{link_id}")).json()
    assert link["status"] == "Expired"
    assert len(checkout_sim.calls("GET", f"/payment-links/{link_id}")) == 1
    async with container.engine.connect() as conn:
        pending = (
            await conn.execute(
                select(outbox.c.kind).where(
                    outbox.c.kind == "payment_links.check_expired", outbox.c.status == "pending"
                )
            )
        ).all()
    assert len(pending) == 1  # the next check is queued


async def test_a_second_approved_payment_does_not_take_over_a_paid_link(
    client: httpx.AsyncClient,
    container: Container,
    checkout_sim: CheckoutSimulator,
    webhooks: WebhookSender,
) -> None:
    link_id = (await post_link(client, link_body())).json()["link_id"]
    first = checkout_sim.pay_link(link_id, card=LINK_CARD_APPROVED)
    # Two shoppers on the page at once: Checkout.com takes a second payment too.
    checkout_sim.links[link_id].status = "Active"
    second = checkout_sim.pay_link(link_id, card=LINK_CARD_APPROVED)
    assert await webhooks.wait_idle(10)
    await build_worker(container).drain()

    link = (await client.get(f"/v1/payment-links/{link_id}")).json()
    order = (await client.get("/v1/payments", params={"order_id": ORDER_ID})).json()
    assert (link["status"], link["payment_id"]) == ("Paid", first.id)
    # The second payment is still recorded on the Order (it may need a refund).
    assert {p["payment_id"] for p in order["payments"]} == {first.id, second.id}
