"""POST /v1/webhooks/checkout: signature checks, durable inbox, duplicates, quarantine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from paybridge.container import Container
from paybridge.persistence.tables import inbound_events, outbox
from tests.conftest import make_settings, truncate_all
from tests.simulators.checkout import CheckoutSimulator
from tests.webhook_events import event, signed

URL = "/v1/webhooks/checkout"


async def rows(container: Container, table: object) -> int:
    async with container.engine.connect() as conn:
        stmt = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int((await conn.execute(stmt)).scalar_one())


async def test_signed_event_is_stored_with_its_task(
    client: httpx.AsyncClient, container: Container
) -> None:
    raw, headers = signed(event("payment_approved", "pay_a", action_id="act_a"))
    response = await client.post(URL, content=raw, headers=headers)

    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    async with container.engine.connect() as conn:
        stored = (await conn.execute(select(inbound_events))).mappings().one()
        task = (await conn.execute(select(outbox))).mappings().one()
    assert stored["raw_body"] == raw
    assert stored["signature_verified"] is True
    assert stored["subject_id"] == "pay_a"
    assert task["kind"] == "webhooks.process"
    assert task["payload"] == {"event_row_id": stored["id"]}


@pytest.mark.parametrize(
    "headers",
    [
        {"Cko-Signature": "0" * 64},
        {},
        {"Cko-Signature": "not-hex"},
    ],
    ids=["wrong", "missing", "garbage"],
)
async def test_bad_signature_is_401_and_nothing_stored(
    client: httpx.AsyncClient, container: Container, headers: dict[str, str]
) -> None:
    raw, _ = signed(event("payment_approved", "pay_a"))
    response = await client.post(URL, content=raw, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert await rows(container, inbound_events) == 0


async def test_reserialized_body_fails_verification(client: httpx.AsyncClient) -> None:
    original = (
        b'{"id": "evt_1", "type": "payment_captured", "data": {"id": "pay_a", "amount": 1.50}}'
    )
    _, headers = signed(original)
    reserialized = json.dumps(json.loads(original), separators=(",", ":")).encode()

    response = await client.post(URL, content=reserialized, headers=headers)

    assert response.status_code == 401


@pytest.fixture
async def rotating_client(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    settings = make_settings(
        pg_url,
        checkout={
            "secret_key": "sk_sbox_simulator",
            "processing_channel_id": "pc_x",
            "webhook_signature_keys": "old-key,new-key",
            "webhook_authorization": "static-auth-key",
        },
    )
    container = build_container(
        settings,
        checkout_transport=checkout_sim.transport(),
        checkout_retry=RetryPolicy.immediate(1),
    )
    await truncate_all(container.engine)
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http, container
    await container.engine.dispose()


async def test_second_key_and_authorization_header(
    rotating_client: tuple[httpx.AsyncClient, Container],
) -> None:
    client, _ = rotating_client
    raw, headers = signed(event("payment_approved", "pay_b"), key="new-key")

    ok = await client.post(
        URL, content=raw, headers={**headers, "Authorization": "static-auth-key"}
    )
    wrong_auth = await client.post(URL, content=raw, headers={**headers, "Authorization": "nope"})
    no_auth = await client.post(URL, content=raw, headers=headers)

    assert ok.status_code == 200
    assert wrong_auth.status_code == 401
    assert no_auth.status_code == 401


async def test_duplicates_are_acknowledged_once_stored(
    client: httpx.AsyncClient, container: Container
) -> None:
    raw, headers = signed(event("payment_captured", "pay_c", action_id="act_c"))

    first = await client.post(URL, content=raw, headers=headers)
    concurrent = await asyncio.gather(
        *(client.post(URL, content=raw, headers=headers) for _ in range(5))
    )

    assert first.json()["status"] == "accepted"
    assert {r.status_code for r in concurrent} == {200}
    assert {r.json()["status"] for r in concurrent} == {"duplicate"}
    assert await rows(container, inbound_events) == 1
    assert await rows(container, outbox) == 1


async def test_concurrent_first_deliveries_store_one(
    client: httpx.AsyncClient, container: Container
) -> None:
    raw, headers = signed(event("payment_captured", "pay_d", action_id="act_d"))

    responses = await asyncio.gather(
        *(client.post(URL, content=raw, headers=headers) for _ in range(6))
    )

    assert sorted(r.json()["status"] for r in responses) == ["accepted"] + ["duplicate"] * 5
    assert await rows(container, inbound_events) == 1
    assert await rows(container, outbox) == 1


async def test_unknown_type_is_stored_ignored_and_counted(
    client: httpx.AsyncClient, container: Container
) -> None:
    raw, headers = signed(event("payment_authorization_incremented", "pay_e"))
    response = await client.post(URL, content=raw, headers=headers)

    assert response.json()["status"] == "ignored"
    assert await rows(container, outbox) == 0
    metrics = (await client.get("/metrics")).text
    assert (
        'paybridge_webhooks_total{outcome="ignored",type="payment_authorization_incremented"} 1.0'
        in metrics
    )


async def test_unreadable_verified_body_is_quarantined(
    client: httpx.AsyncClient, container: Container
) -> None:
    # The defect seen in 2025 (checkout-sdk-node#408): U+FFFD after created_on, "data" missing.
    broken = (
        b'{"id":"evt_broken","type":"payment_authentication_failed",'
        b'"created_on":"2025-09-15T10:00:00Z"\xef\xbf\xbd,{"id":"pay_f"}}'
    )
    raw, headers = signed(broken)

    response = await client.post(URL, content=raw, headers=headers)
    again = await client.post(URL, content=raw, headers=headers)

    assert response.status_code == 200
    assert response.json()["status"] == "quarantined"
    assert again.json()["status"] == "duplicate"
    async with container.engine.connect() as conn:
        stored = (await conn.execute(select(inbound_events))).mappings().one()
    assert stored["status"] == "quarantined"
    assert stored["raw_body"] == raw
    assert await rows(container, outbox) == 0


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    raw = b"{" + b" " * (1024 * 1024) + b"}"
    response = await client.post(URL, content=raw, headers={"Cko-Signature": "00"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
