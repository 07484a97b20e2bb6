"""Every refusal uses the one envelope, names the field, and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from paybridge.container import Container
from paybridge.persistence.tables import idempotency_keys, integration_logs, payments
from paybridge.persistence.uow import unit_of_work_factory
from paybridge.security import CallerAuthenticator
from tests.api.payloads import payment_body, with_order
from tests.simulators.checkout import CheckoutSimulator


async def post(client: httpx.AsyncClient, body: Any, **headers: str) -> httpx.Response:
    return await client.post(
        "/v1/payments", json=body, headers={"Idempotency-Key": "key-errors-1", **headers}
    )


async def nothing_stored(container: Container) -> bool:
    async with container.engine.connect() as conn:
        for table in (payments, idempotency_keys, integration_logs):
            if (await conn.execute(select(func.count()).select_from(table))).scalar_one():
                return False
    return True


@pytest.mark.parametrize("key", [None, "wrong-key"])
async def test_missing_or_wrong_api_key(
    client: httpx.AsyncClient, container: Container, key: str | None
) -> None:
    headers = {"Idempotency-Key": "key-errors-1"}
    if key is not None:
        headers["X-API-Key"] = key
    client.headers.pop("X-API-Key")
    response = await client.post("/v1/payments", json=payment_body(), headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]
    assert await nothing_stored(container)


async def test_no_configured_keys_refuses_everyone(
    client: httpx.AsyncClient, container: Container
) -> None:
    object.__setattr__(container, "caller_auth", CallerAuthenticator(api_keys=[]))
    response = await post(client, payment_body())
    assert response.status_code == 401


async def test_card_number_anywhere_is_refused_and_never_stored(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    body = with_order(Description="card 4242 4242 4242 4242 please")
    response = await post(client, body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "card_data_rejected"
    assert error["details"][0]["field"] == "order.Description"
    assert "4242" not in response.text
    assert await nothing_stored(container)
    assert checkout_sim.requests == []


async def test_card_number_in_place_of_a_token(client: httpx.AsyncClient) -> None:
    body = payment_body(payment_method={"type": "token", "token": "4242424242424242"})
    response = await post(client, body)
    assert response.json()["error"]["details"] == [
        {
            "field": "payment_method.token",
            "code": "card_data_rejected",
            "message": "looks like a card number",
        }
    ]


async def test_schema_errors_name_the_field(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = payment_body(payment_method={"type": "token", "token": "tok_short"}, surprise=1)
    response = await post(client, body)

    assert response.status_code == 422
    fields = {d["field"]: d["code"] for d in response.json()["error"]["details"]}
    assert fields == {
        "payment_method.token": "string_pattern_mismatch",
        "surprise": "extra_forbidden",
    }
    assert await nothing_stored(container)


async def test_mapping_errors_name_the_salesforce_field(client: httpx.AsyncClient) -> None:
    response = await post(client, with_order(BillingCountryCode="XX", TotalAmount=10.001))
    details = response.json()["error"]["details"]
    assert {d["field"] for d in details} == {"order.BillingCountryCode", "order.TotalAmount"}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{", "application/json", 422, "malformed_json"),
        (b"[]", "application/json", 422, "validation_failed"),
        (b'{"a":1,"a":2}', "application/json", 422, "malformed_json"),
        (b"order=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"{" + b" " * (256 * 1024) + b"}", "application/json", 413, "payload_too_large"),
    ],
)
async def test_bodies_that_cannot_be_read(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = await client.post(
        "/v1/payments",
        content=content,
        headers={"Idempotency-Key": "key-errors-2", "Content-Type": content_type},
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "idempotency_key_missing"),
        ("short", "idempotency_key_invalid"),
        ("has space in it", "idempotency_key_invalid"),
    ],
)
async def test_idempotency_key_is_required_and_checked(
    client: httpx.AsyncClient, key: str | None, code: str
) -> None:
    headers = {} if key is None else {"Idempotency-Key": key}
    response = await client.post("/v1/payments", json=payment_body(), headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


async def test_404_and_405_use_the_envelope(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/nothing-here")
    wrong_method = await client.delete("/v1/payments")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "sf-req-123"})
    assert response.headers["x-request-id"] == "sf-req-123"


async def test_readiness_reports_migrations(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["revision"] == response.json()["head"]


async def test_openapi_documents_the_envelope_not_fastapi_defaults(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text
    create = spec["paths"]["/v1/payments"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PaymentCreate"
    )
    for status in ("400", "401", "409", "422", "503"):
        assert create["responses"][status]["content"]["application/json"]["schema"][
            "$ref"
        ].endswith("/ErrorEnvelope")


async def test_database_unavailable_is_a_503_to_retry(
    client: httpx.AsyncClient, container: Container
) -> None:
    dead = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    object.__setattr__(container.payments, "_uow", unit_of_work_factory(dead))
    response = await client.get("/v1/payments", params={"order_id": "8015g00000AbCdEAAV"})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response.headers["retry-after"] == "1"
    await dead.dispose()
