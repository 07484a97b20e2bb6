"""Hostile traffic, then a scan: the configured secrets and the customer's e-mail never show
in clear in the log output, nor in the database outside the columns meant to hold them.

The traffic: missing, wrong and near-miss API keys and webhook signatures; bodies poisoned
with card numbers, NUL bytes, deep nesting and absurd amounts; and forced exceptions whose
text quotes the secrets — a PostgreSQL error raised inside a request (PostgreSQL itself
quotes the offending value), and a background task failing with such text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from paybridge.container import Container
from paybridge.persistence.tables import metadata, outbox
from paybridge.services.tasks import Outcome, Task, one_by_one
from paybridge.worker.runner import Worker, WorkerConfig
from paybridge.worker.tasks import build_worker
from tests.api.payloads import CUSTOMER, payment_body, with_order
from tests.conftest import API_KEY, ShiftedClock, make_settings, truncate_all
from tests.simulators.checkout import CheckoutSimulator, LosingResponses
from tests.webhook_events import event, signed

EMAIL = str(CUSTOMER["Email"])
SALESFORCE_SECRET = "sf-client-secret-9f8e7d6c5b4a"
WEBHOOK_AUTHORIZATION = "webhook-static-authorization-3c4d5e"
CARD = "4242 4242 4242 4242"
# Columns whose job is to hold the customer's data for a while (retention in
# docs/data-retention.md): the raw webhook as Checkout.com sent it, and the request of an
# unfinished idempotency key (cleared when it finishes).
MEANT_FOR_PERSONAL_DATA = {("inbound_events", "raw_body"), ("idempotency_keys", "request_payload")}


@pytest.fixture
async def container(pg_url: str, clock: ShiftedClock) -> AsyncIterator[Container]:
    checkout = CheckoutSimulator()
    settings = make_settings(
        pg_url,
        checkout={
            "base_url": "https://api.sandbox.checkout.com",
            "secret_key": checkout.secret_key,
            "processing_channel_id": "pc_scan",
            "webhook_signature_keys": ["whsec-test-key-1"],
            "webhook_authorization": WEBHOOK_AUTHORIZATION,
        },
        salesforce={
            "client_id": "sf-client-id",
            "client_secret": SALESFORCE_SECRET,
        },
    )
    built = build_container(
        settings,
        clock=clock,
        checkout_transport=LosingResponses(checkout.transport()),
        checkout_retry=RetryPolicy.immediate(2),
    )
    await truncate_all(built.engine)
    yield built
    await built.aclose()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    # A crash is answered 500 and re-raised by Starlette; the test wants the answer.
    transport = httpx.ASGITransport(app=create_app(container=container), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://paybridge.test") as http:
        yield http


def near_misses(key: str) -> list[str]:
    return [key[:-1] + ("x" if key[-1] != "x" else "y"), key[:-4], key + "0", key.upper()]


async def hostile_traffic(client: httpx.AsyncClient, container: Container) -> None:
    body = payment_body()
    keys = ["", "wrong-key", *near_misses(API_KEY)]
    for n, key in enumerate(keys):
        headers = {"Idempotency-Key": f"scan-bad-key-{n:04d}", "X-API-Key": key}
        response = await client.post("/v1/payments", json=body, headers=headers)
        assert response.status_code == 401
    good = {"X-API-Key": API_KEY}

    poisoned: list[tuple[bytes, int]] = [
        (json.dumps(with_order(BillingStreet=f"Keizersgracht 1 {CARD}")).encode(), 422),
        (json.dumps(payment_body(customer={**CUSTOMER, "Email": EMAIL + "\x00"})).encode(), 422),
        (b'{"order": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", 422),
        (json.dumps(payment_body()).encode().replace(b"149.9", b"1E+999990"), 422),
        (json.dumps({**body, "note": API_KEY}).encode(), 422),
    ]
    for n, (raw, status) in enumerate(poisoned):
        headers = {**good, "Idempotency-Key": f"scan-poison-{n:04d}"}
        headers["Content-Type"] = "application/json"
        response = await client.post("/v1/payments", content=raw, headers=headers)
        assert response.status_code == status, response.text

    created = await client.post(
        "/v1/payments", json=body, headers={**good, "Idempotency-Key": "scan-good-0001"}
    )
    assert created.status_code == 201, created.text

    # Webhooks: a wrong signature, a near-miss static Authorization, then a good one. The
    # event carries the customer as Checkout.com's payment events do (`data.customer`).
    approved = event("payment_approved", created.json()["payment_id"])
    approved["data"]["customer"] = {"email": EMAIL, "name": "Ana de Vries"}
    raw, headers = signed(approved)
    wrong = {**headers, "Cko-Signature": "0" * 64, "Authorization": WEBHOOK_AUTHORIZATION}
    assert (
        await client.post("/v1/webhooks/checkout", content=raw, headers=wrong)
    ).status_code == 401
    for near in near_misses(WEBHOOK_AUTHORIZATION):
        attempt = {**headers, "Authorization": near}
        response = await client.post("/v1/webhooks/checkout", content=raw, headers=attempt)
        assert response.status_code == 401
    accepted = {**headers, "Authorization": WEBHOOK_AUTHORIZATION}
    assert (
        await client.post("/v1/webhooks/checkout", content=raw, headers=accepted)
    ).status_code == 200


async def forced_request_crash(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement fails inside a request; PostgreSQL's message quotes the bad value."""

    async def crash(_payment_id: str) -> None:
        async with container.engine.connect() as conn:
            quoted = f"{EMAIL} {API_KEY} {SALESFORCE_SECRET} {CARD}"
            await conn.execute(text("SELECT CAST(:value AS integer)"), {"value": quoted})

    monkeypatch.setattr(container.payments, "get", crash)
    response = await client.get("/v1/payments/pay_scan", headers={"X-API-Key": API_KEY})
    assert response.status_code == 500
    assert EMAIL not in response.text
    assert API_KEY not in response.text


async def forced_task_failure(container: Container) -> None:
    """A background task fails with an error quoting the secrets: stored and logged masked."""

    async def fail(_task: Task) -> Outcome:
        raise RuntimeError(f"upstream said: {EMAIL} {SALESFORCE_SECRET} {API_KEY} {CARD}")

    async with container.uow() as uow:
        await uow.outbox.enqueue("scan.fail", {}, now=container.clock())
        await uow.commit()
    worker = Worker(
        uow=container.uow,
        handlers={"scan.fail": one_by_one(fail)},
        clock=container.clock,
        metrics=container.metrics,
        config=WorkerConfig(max_attempts=1, lanes=False),
    )
    assert await worker.run_once() == 1
    async with container.engine.connect() as conn:
        row = (await conn.execute(select(outbox).where(outbox.c.kind == "scan.fail"))).one()
    assert row.status == "dead"
    assert "upstream said" in row.last_error  # the error is kept, only masked


async def database_text(container: Container) -> dict[tuple[str, str], str]:
    """Every column of every table as text (bytes decoded, JSON serialized)."""
    found: dict[tuple[str, str], str] = {}
    async with container.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = (await conn.execute(select(table))).mappings().all()
            for column in table.columns:
                values = [row[column.name] for row in rows if row[column.name] is not None]
                found[(table.name, column.name)] = json.dumps(
                    [v.decode(errors="replace") if isinstance(v, bytes) else v for v in values],
                    default=str,
                    ensure_ascii=False,
                )
    return found


async def test_hostile_traffic_leaves_no_secret_or_email_in_logs_or_storage(
    client: httpx.AsyncClient,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets = container.settings.secret_values()
    assert {API_KEY, SALESFORCE_SECRET, WEBHOOK_AUTHORIZATION, "whsec-test-key-1"} <= set(secrets)

    await hostile_traffic(client, container)
    await build_worker(container).drain()
    await forced_task_failure(container)
    await forced_request_crash(client, container, monkeypatch)

    logs = capsys.readouterr().out
    assert "request.crashed" in logs  # the failures were logged
    assert "worker.task.dead" in logs
    assert "Traceback" in logs  # with their tracebacks, which quote the values
    for secret in secrets:
        assert secret not in logs
    for near in [*near_misses(API_KEY), *near_misses(WEBHOOK_AUTHORIZATION)]:
        assert near not in logs  # what a caller got almost right is not logged either
    assert EMAIL not in logs
    assert CARD not in logs
    assert CARD.replace(" ", "") not in logs

    stored = await database_text(container)
    for (table, column), content in stored.items():
        for secret in secrets:
            assert secret not in content, f"a configured secret is stored in {table}.{column}"
        assert CARD not in content
        assert CARD.replace(" ", "") not in content
        if (table, column) not in MEANT_FOR_PERSONAL_DATA:
            assert EMAIL not in content, f"the customer's e-mail is stored in {table}.{column}"


async def test_a_failed_statement_does_not_carry_its_parameters(container: Container) -> None:
    with pytest.raises(DBAPIError) as raised:
        async with container.engine.connect() as conn:
            await conn.execute(
                text("SELECT CAST(:value AS integer) + :other"),
                {
                    "value": "x",
                    "other": EMAIL,
                },
            )
    assert EMAIL not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
