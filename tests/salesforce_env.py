"""A paybridge wired to both simulators (Checkout.com and Salesforce), and ledger shortcuts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from paybridge.container import Container
from paybridge.domain.facts import ActionFact
from paybridge.domain.ids import new_id
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.persistence.tables import integration_logs, outbox
from paybridge.services.ledger import apply_facts
from paybridge.worker.tasks import build_worker
from tests.conftest import API_KEY, FixedClock, make_settings, truncate_all
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator

ORDER_ID = "8015g00000AbCdEAAV"  # the Order of tests.api.payloads.ORDER


@dataclass
class Env:
    container: Container
    http: httpx.AsyncClient
    sim: SalesforceSimulator
    clock: FixedClock

    async def drain(self) -> int:
        return await build_worker(self.container).drain()


def salesforce_values(sim: SalesforceSimulator, **overrides: Any) -> dict[str, Any]:
    return {
        "instance_url": sim.instance_url,
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "api_version": sim.api_version,
        **overrides,
    }


@asynccontextmanager
async def salesforce_env(
    pg_url: str,
    sim: SalesforceSimulator,
    checkout: CheckoutSimulator,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    checkout_transport: httpx.AsyncBaseTransport | None = None,
    worker: dict[str, Any] | None = None,
    **salesforce: Any,
) -> AsyncIterator[Env]:
    """App + container with Salesforce configured; tables emptied; the sim holds ORDER_ID.
    `worker`: worker settings (time compressed: few attempts, short back-off)."""
    clock = FixedClock()
    settings = make_settings(
        pg_url,
        salesforce=salesforce_values(sim, **salesforce),
        worker={"embedded": False, **(worker or {})},
    )
    container = build_container(
        settings,
        clock=clock,
        checkout_transport=checkout_transport or checkout.transport(),
        checkout_retry=RetryPolicy.immediate(3),
        salesforce_transport=transport or sim.transport(),
        salesforce_retry=RetryPolicy.immediate(3),
    )
    await truncate_all(container.engine)
    seed_order(sim, ORDER_ID)
    app = create_app(container=container)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://paybridge.test", headers={"X-API-Key": API_KEY}
        ) as http:
            yield Env(container=container, http=http, sim=sim, clock=clock)
    finally:
        if container.salesforce_http is not None:
            await container.salesforce_http.aclose()
        await container.aclose()


def seed_order(sim: SalesforceSimulator, order_id: str) -> None:
    sim.records.setdefault("Order", {})[order_id] = {"Id": order_id, "Status": "Draft"}


def order_id_for(n: int) -> str:
    return f"801{n:012d}AAA"


async def seed_payment(
    container: Container,
    n: int,
    *,
    order_id: str | None = None,
    status_events: int = 1,
    with_logs: bool = True,
) -> str:
    """A payment made straight in the ledger, one transaction per event (each bumps the
    version and enqueues the sync, like a webhook would): authorization, capture, refund
    requested, refund confirmed — the first `status_events` of them. Returns its pay_ id."""
    now = container.clock()
    checkout_id = f"pay_seed{n:022d}"
    events = [
        ActionFact(f"act_auth{n:018d}", ActionType.AUTHORIZATION, ActionStatus.SUCCEEDED, 10000),
        ActionFact(f"act_capt{n:018d}", ActionType.CAPTURE, ActionStatus.SUCCEEDED, 10000),
        ActionFact(f"act_refd{n:018d}", ActionType.REFUND, ActionStatus.REQUESTED, 2500),
        ActionFact(f"act_refd{n:018d}", ActionType.REFUND, ActionStatus.SUCCEEDED, 2500),
    ]
    async with container.uow() as uow:
        await uow.payments.insert_if_absent(
            {
                "id": new_id(),
                "checkout_payment_id": checkout_id,
                "order_id": order_id,
                "account_id": None,
                "reference": f"ORD-{n}",
                "currency": "EUR",
                "amount_minor": 10000,
                "status": "Pending",
                "metadata": {},
                "created_at": now,
                "updated_at": now,
            }
        )
        await uow.commit()
    for index, fact in enumerate(events[:status_events]):
        async with container.uow() as uow:
            payment = await uow.payments.get_by_checkout_id(checkout_id, for_update=True)
            assert payment is not None
            await apply_facts(uow, payment, [fact], now=now)
            if with_logs:
                await uow.logs.add(log_row(payment["id"], checkout_id, n=index, now=now))
            await uow.commit()
    return checkout_id


def log_row(
    payment_id: str | None,
    checkout_payment_id: str | None,
    *,
    n: int = 0,
    now: Any,
    level: str = "INFO",
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "payment_id": payment_id,
        "checkout_payment_id": checkout_payment_id,
        "level": level,
        "operation": f"webhook.event_{n}",
        "direction": "Inbound",
        "http_status": 200,
        "duration_ms": 12,
        "correlation_id": None,
        "cko_request_id": None,
        "cko_event_id": f"evt_{new_id()}",
        "cko_action_id": None,
        "error_code": None,
        "message": None,
        "summary": None,
        "occurred_at": now,
        "sync_status": "pending",
        "synced_at": None,
    }


async def outbox_rows(container: Container, kind: str) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        result = await conn.execute(select(outbox).where(outbox.c.kind == kind))
        return [dict(row) for row in result.mappings()]


async def log_statuses(container: Container) -> dict[str, str]:
    async with container.engine.connect() as conn:
        result = await conn.execute(select(integration_logs.c.id, integration_logs.c.sync_status))
        return {str(row.id): str(row.sync_status) for row in result}
