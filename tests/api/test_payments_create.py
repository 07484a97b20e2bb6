"""POST /v1/payments against the Checkout.com simulator and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from sqlalchemy import func, select

from paybridge.container import Container
from paybridge.domain.markets import default_book
from paybridge.domain.payment_methods import KNOWN_METHODS
from paybridge.persistence.tables import (
    idempotency_keys,
    integration_logs,
    outbox,
    payment_actions,
    payments,
)
from paybridge.worker.tasks import build_worker
from tests.api.payloads import payment_body, with_order
from tests.checkout_spec import validate_against_spec
from tests.conftest import ShiftedClock
from tests.simulators.checkout import CheckoutSimulator, LosingResponses


async def post_payment(
    client: httpx.AsyncClient, body: dict[str, Any], key: str = "key-00000001"
) -> httpx.Response:
    return await client.post("/v1/payments", json=body, headers={"Idempotency-Key": key})


async def count(container: Container, table: Any) -> int:
    async with container.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_approved_authorization_is_recorded_with_action_log_and_sync_task(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    response = await post_payment(client, payment_body())

    assert response.status_code == 201
    body = response.json()
    assert body["payment_id"].startswith("pay_")
    assert body["status"] == "Authorized"
    assert body["approved"] is True
    assert body["amount"] == "149.90"
    assert body["amount_minor"] == 14990
    assert body["currency"] == "EUR"
    assert body["reference"] == "00000100"
    assert body["order_id"] == "8015g00000AbCdEAAV"
    assert body["amounts"]["available_to_capture"] == "149.90"
    assert [a["type"] for a in body["actions"]] == ["authorization"]
    assert response.headers["x-request-id"]

    sent = checkout_sim.calls("POST", "/payments")[0]
    validate_against_spec(sent, "PaymentRequest")
    assert sent["amount"] == 14990
    assert sent["reference"] == "00000100"
    assert sent["capture"] is False
    assert sent["source"]["billing_address"] == {
        "address_line1": "Keizersgracht 1",
        "address_line2": "Second floor",
        "city": "Amsterdam",
        "zip": "1015 CJ",
        "country": "NL",
    }
    assert sent["customer"] == {"email": "ana@example.com", "name": "Ana de Vries"}
    assert sent["metadata"]["sf_order_id"] == "8015g00000AbCdEAAV"
    assert sent["metadata"]["sf_account_id"] == "0015g00000XyZaBAAV"
    assert "id" not in sent["customer"]

    assert await count(container, payments) == 1
    assert await count(container, payment_actions) == 1
    assert await count(container, integration_logs) == 1
    async with container.engine.connect() as conn:
        task = (
            (await conn.execute(select(outbox).where(outbox.c.kind == "salesforce.sync_payment")))
            .mappings()
            .one()
        )
        log = (await conn.execute(select(integration_logs))).mappings().one()
    assert task["kind"] == "salesforce.sync_payment"
    assert task["status"] == "pending"
    assert log["operation"] == "payments.create"
    assert log["http_status"] == 201
    assert "ana@example.com" not in json.dumps(log["summary"])


async def test_declined_payment_is_a_201_with_declined_status(client: httpx.AsyncClient) -> None:
    response = await post_payment(client, with_order(TotalAmount=100.05))

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "Declined"
    assert body["approved"] is False
    assert body["response_code"] == "20005"
    assert body["amounts"]["available_to_capture"] == "0.00"


async def test_three_ds_payment_is_pending_with_redirect(client: httpx.AsyncClient) -> None:
    response = await post_payment(client, payment_body(three_ds=True))

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "Pending"
    assert body["redirect_url"].startswith("https://sandbox.checkout.com/redirect/pay_")


async def test_auto_capture_reports_captured(client: httpx.AsyncClient) -> None:
    response = await post_payment(client, payment_body(capture=True))

    assert response.status_code == 201
    assert response.json()["status"] == "Captured"
    assert response.json()["amounts"]["captured"] == "149.90"


async def test_same_key_same_body_replays_without_a_second_charge(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    first = await post_payment(client, payment_body())
    second = await post_payment(client, payment_body())

    assert second.status_code == first.status_code == 201
    assert second.json() == first.json()
    assert len(checkout_sim.calls("POST", "/payments")) == 1


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    await post_payment(client, payment_body())
    response = await post_payment(client, with_order(TotalAmount=10))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len(checkout_sim.calls("POST", "/payments")) == 1


async def test_amount_with_another_scale_is_the_same_request(client: httpx.AsyncClient) -> None:
    await post_payment(client, with_order(TotalAmount=149.9))
    response = await client.post(
        "/v1/payments",
        content=json.dumps(with_order(TotalAmount=149.9)).replace("149.9", "149.900"),
        headers={"Idempotency-Key": "key-00000001", "Content-Type": "application/json"},
    )

    assert response.status_code == 201


async def test_timeout_then_retry_with_same_key_completes_one_payment(
    client: httpx.AsyncClient,
    container: Container,
    checkout_sim: CheckoutSimulator,
    lossy_transport: LosingResponses,
) -> None:
    lossy_transport.lose_next = 3  # every attempt of the first request loses its answer

    first = await post_payment(client, payment_body())
    assert first.status_code == 503
    assert first.json()["error"]["code"] == "upstream_unavailable"
    assert await count(container, payments) == 0

    second = await post_payment(client, payment_body())
    assert second.status_code == 201
    assert len(checkout_sim.payments) == 1
    assert second.json()["payment_id"] in checkout_sim.payments
    keys = {h["cko-idempotency-key"] for _, _, h, _ in checkout_sim.requests}
    assert len(keys) == 1
    assert await count(container, payments) == 1


async def test_concurrent_requests_with_one_key_call_checkout_once(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    responses = await asyncio.gather(
        *(post_payment(client, payment_body(), key="key-concurrent") for _ in range(5))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    assert len(checkout_sim.calls("POST", "/payments")) == 1
    assert await count(container, payments) == 1
    assert await count(container, idempotency_keys) == 1
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "idempotency_key_in_flight"


async def test_checkout_validation_error_is_422_and_replayed(
    pg_url: str, checkout_sim: CheckoutSimulator, client: httpx.AsyncClient, container: Container
) -> None:
    # A market without a processing channel: Checkout.com refuses the request (422).
    object.__setattr__(
        container.payments,
        "_markets",
        default_book(
            processing_channel_id=None, methods=KNOWN_METHODS, capture=True, three_ds=False
        ),
    )

    first = await post_payment(client, payment_body())
    second = await post_payment(client, payment_body())

    assert first.status_code == 422
    error = first.json()["error"]
    assert error["code"] == "upstream_validation_failed"
    assert error["checkout_error_codes"] == ["processing_channel_id_required"]
    assert error["checkout_request_id"].startswith("req_")
    assert second.json() == first.json()
    assert len(checkout_sim.calls("POST", "/payments")) == 1


async def test_get_and_list_by_order(client: httpx.AsyncClient) -> None:
    declined = await post_payment(client, with_order(TotalAmount=100.05), key="key-attempt-1")
    approved = await post_payment(client, payment_body(), key="key-attempt-2")

    one = await client.get(f"/v1/payments/{approved.json()['payment_id']}")
    listed = await client.get("/v1/payments", params={"order_id": "8015g00000AbCdEAAV"})

    assert one.status_code == 200
    assert one.json()["status"] == "Authorized"
    ids = [p["payment_id"] for p in listed.json()["payments"]]
    assert ids == [declined.json()["payment_id"], approved.json()["payment_id"]]


async def test_unknown_payment_is_404_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/payments/pay_unknownunknownunknown00000")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_not_found"


async def test_worker_finishes_a_create_whose_caller_never_retried(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    checkout_sim: CheckoutSimulator,
    lossy_transport: LosingResponses,
) -> None:
    lossy_transport.lose_next = 3
    lost = await post_payment(client, payment_body(), key="key-create-lost")
    assert lost.status_code == 503

    assert await build_worker(container).drain() == 0  # the caller may still retry
    clock.advance(36)
    assert await build_worker(container).drain() == 1

    assert len(checkout_sim.payments) == 1
    assert await count(container, payments) == 1
    replay = await post_payment(client, payment_body(), key="key-create-lost")
    assert replay.status_code == 201
    assert replay.json()["payment_id"] in checkout_sim.payments
    assert replay.json()["order_id"] == "8015g00000AbCdEAAV"
