"""Pruning: idempotency records past retention go, finished or not — an unfinished one holds
the request (e-mail, address) — and a finished one stops holding the request at once."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from paybridge.container import Container
from paybridge.persistence.tables import idempotency_keys
from paybridge.services.webhooks import PRUNE_TASK
from paybridge.worker.runner import Worker, WorkerConfig
from tests.api.payloads import CUSTOMER, payment_body
from tests.conftest import ShiftedClock
from tests.simulators.checkout import LosingResponses

EMAIL = str(CUSTOMER["Email"])


async def post(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/v1/payments", json=payment_body(), headers={"Idempotency-Key": key})


async def records(container: Container) -> dict[str, dict[str, object]]:
    async with container.engine.connect() as conn:
        rows = (await conn.execute(select(idempotency_keys))).mappings().all()
    return {str(row["key"]): dict(row) for row in rows}


async def prune(container: Container) -> None:
    """Run the pruning task alone (other due tasks, such as recoveries, stay queued)."""
    await container.webhooks.schedule_pruning()
    worker = Worker(
        uow=container.uow,
        handlers={PRUNE_TASK: container.webhooks.task_handlers()[PRUNE_TASK]},
        clock=container.clock,
        metrics=container.metrics,
        config=WorkerConfig(lanes=False),
    )
    assert await worker.run_once() == 1


async def test_a_finished_record_keeps_the_response_not_the_request(
    client: httpx.AsyncClient, container: Container
) -> None:
    assert (await post(client, "prune-finished-0001")).status_code == 201

    record = (await records(container))["prune-finished-0001"]
    assert record["response_status"] == 201
    assert record["request_payload"] is None
    assert EMAIL not in str(record)
    replay = await post(client, "prune-finished-0001")  # a replay still answers
    assert replay.status_code == 201


async def test_expired_records_are_pruned_finished_or_not(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    lossy_transport: LosingResponses,
) -> None:
    assert (await post(client, "prune-finished-0002")).status_code == 201
    lossy_transport.lose_next = 3  # every attempt loses its answer: the record stays open
    assert (await post(client, "prune-unfinished-0003")).status_code == 503
    unfinished = (await records(container))["prune-unfinished-0003"]
    assert unfinished["response_status"] is None
    assert EMAIL in str(unfinished["request_payload"])  # held for its recovery

    clock.advance(timedelta(days=6).total_seconds())
    await prune(container)
    assert set(await records(container)) == {"prune-finished-0002", "prune-unfinished-0003"}

    clock.advance(timedelta(days=1, minutes=1).total_seconds())
    assert (await post(client, "prune-recent-0004")).status_code == 201
    await prune(container)
    assert set(await records(container)) == {"prune-recent-0004"}
