"""/metrics reports what waits or is stuck in the database (PostgreSQL): the figures the
alert rules page on, readable from any API replica while the workers serve no HTTP."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from paybridge.app import create_app
from paybridge.container import Container
from paybridge.persistence.uow import UnitOfWork
from paybridge.services.reconciliation import GAVE_UP_ERROR_CODE


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[str, ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.values()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def seed_backlog(container: Container) -> int:
    """One Salesforce sync waiting 10 minutes, one dead webhook task, one parked payment,
    a give-up an hour ago and one two days ago. Returns the waiting task's id."""
    now = container.clock()
    async with container.uow() as uow:
        await uow.outbox.enqueue("salesforce.sync_payment", {}, now=now - timedelta(minutes=10))
        await uow.outbox.enqueue("webhooks.process", {}, now=now)
        [waiting, doomed] = [int(row["id"]) for row in await uow.outbox.list_for()]
        await uow.outbox.bury(doomed, error="boom", now=now)
        await uow.payments.insert_if_absent(
            {
                "id": "p-parked",
                "checkout_payment_id": "pay_parked",
                "currency": "EUR",
                "amount_minor": 1000,
                "status": "Authorized",
                "metadata": {},
                "created_at": now,
                "updated_at": now,
            }
        )
        await uow.payments.mark_synced(
            "p-parked", version=1, at=now, error="FIELD_CUSTOM_VALIDATION_EXCEPTION"
        )
        for n, ago in enumerate((timedelta(hours=1), timedelta(days=2))):
            await uow.logs.add(
                {
                    "id": f"gave-up-{n}",
                    "level": "ERROR",
                    "operation": "reconcile",
                    "direction": "outbound",
                    "error_code": GAVE_UP_ERROR_CODE,
                    "occurred_at": now - ago,
                    "sync_status": "pending",
                }
            )
        await uow.commit()
    return waiting


async def test_backlog_gauges_read_the_database(
    container: Container, client: httpx.AsyncClient
) -> None:
    await seed_backlog(container)

    samples = await scrape(client)

    assert samples[("paybridge_outbox_oldest_waiting_seconds", ("salesforce",))] >= 600
    assert samples[("paybridge_outbox_waiting_tasks", ("salesforce",))] == 1
    assert samples[("paybridge_outbox_dead_tasks", ("webhooks.process",))] == 1
    assert samples[("paybridge_salesforce_parked_syncs", ())] == 1
    assert samples[("paybridge_reconcile_give_ups_24h", ())] == 1


async def test_an_emptied_lane_reads_zero_instead_of_vanishing(
    container: Container, client: httpx.AsyncClient
) -> None:
    waiting = await seed_backlog(container)
    await scrape(client)
    async with container.uow() as uow:
        await uow.outbox.complete(waiting, now=container.clock())
        await uow.outbox.retry_dead(now=container.clock())
        await uow.commit()

    samples = await scrape(client)

    assert samples[("paybridge_outbox_oldest_waiting_seconds", ("salesforce",))] == 0
    assert samples[("paybridge_outbox_waiting_tasks", ("salesforce",))] == 0
    assert samples[("paybridge_outbox_dead_tasks", ("webhooks.process",))] == 0


async def test_metrics_still_answer_when_the_database_does_not(container: Container) -> None:
    """Prometheus must keep the process counters while the database is down (/readyz says so)."""

    def unreachable() -> UnitOfWork:
        raise ConnectionRefusedError("database down")

    app = create_app(container=dataclasses.replace(container, uow=unreachable))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://paybridge.test"
    ) as http:
        response = await http.get("/metrics")

    assert response.status_code == 200
    assert "paybridge_http_requests_total" in response.text
