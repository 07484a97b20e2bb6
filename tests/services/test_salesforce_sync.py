"""Salesforce sync: outages, limits, refused records, bursts, token expiry, logs and versions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paybridge.container import Container
from paybridge.domain.facts import ActionFact
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.persistence.tables import integration_logs
from paybridge.services.ledger import SYNC_PAYMENT_TASK, apply_facts
from paybridge.services.salesforce_logs import SYNC_LOGS_TASK, add_integration_log
from paybridge.worker.tasks import build_handlers, build_worker
from tests.api.payloads import payment_body
from tests.salesforce_env import (
    ORDER_ID,
    Env,
    log_row,
    log_statuses,
    order_id_for,
    outbox_rows,
    salesforce_env,
    seed_order,
    seed_payment,
)
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator

PICKLIST_ERROR = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


async def view(env: Env, checkout_id: str) -> dict[str, Any]:
    response = await env.http.get(f"/v1/payments/{checkout_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def count(sim: SalesforceSimulator, sobject: str, field: str, value: Any) -> int:
    return len(sim.find(sobject, field, value))


async def test_salesforce_down_for_a_while_loses_and_duplicates_nothing(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        first = await seed_payment(env.container, 1, status_events=2)
        second = await seed_payment(env.container, 2)
        sim.fail_next(7)  # 3 attempts per call: two failed runs, then one more 503

        assert await env.drain() == 2
        assert sim.records["CKO_Payment__c"] == {}
        tasks = await outbox_rows(env.container, SYNC_PAYMENT_TASK)
        assert {t["status"] for t in tasks} == {"pending"}
        assert all("Server unavailable" in t["last_error"] for t in tasks)

        for _ in range(2):
            env.clock.now += timedelta(hours=1)
            await env.drain()

        for checkout_id in (first, second):
            assert count(sim, "CKO_Payment__c", "CKO_Payment_Id__c", checkout_id) == 1
            body = await view(env, checkout_id)
            assert body["salesforce"]["synced_version"] == body["salesforce"]["version"]
        assert len(sim.records["CKO_Payment_Action__c"]) == 3
        assert len(sim.records["CKO_Integration_Log__c"]) == 3
        assert {t["status"] for t in await outbox_rows(env.container, SYNC_PAYMENT_TASK)} == {
            "done"
        }


async def test_request_limit_exceeded_postpones_everything_then_drains(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim, pause_on_limit_s=300) as env:
        ids = [await seed_payment(env.container, n) for n in range(6)]
        sim.request_limit_exceeded = True

        await env.drain()
        tasks = await outbox_rows(env.container, SYNC_PAYMENT_TASK)
        assert {t["status"] for t in tasks} == {"pending"}
        assert {t["next_attempt_at"] for t in tasks} == {env.clock.now + timedelta(seconds=300)}
        assert await env.drain() == 0  # held: nothing is due, nothing hammers the org

        sim.request_limit_exceeded = False
        env.clock.now += timedelta(seconds=301)
        assert await env.drain() == 6
        assert all(count(sim, "CKO_Payment__c", "CKO_Payment_Id__c", i) == 1 for i in ids)


@pytest.mark.parametrize("payments", [2, 6], ids=["composite", "collections"])
async def test_a_picklist_error_parks_one_payment_and_the_others_go_on(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator, payments: int
) -> None:
    sim.restricted_picklists[("CKO_Payment__c", "Status__c")] = {"Authorized", "Captured"}
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        good = [await seed_payment(env.container, n) for n in range(payments - 1)]
        bad = await seed_payment(env.container, 99, status_events=4)  # Partially Refunded

        await env.drain()

        tasks = {
            t["payload"]["payment_id"]: t
            for t in await outbox_rows(env.container, SYNC_PAYMENT_TASK)
        }
        parked = [t for t in tasks.values() if t["status"] == "dead"]
        assert len(parked) == 1
        assert PICKLIST_ERROR in parked[0]["last_error"]
        assert sum(t["status"] == "done" for t in tasks.values()) == payments - 1
        for checkout_id in good:
            assert count(sim, "CKO_Payment__c", "CKO_Payment_Id__c", checkout_id) == 1
            body = await view(env, checkout_id)
            assert body["salesforce"]["synced_version"] == body["salesforce"]["version"]
            assert body["salesforce"]["last_error"] is None
        refused = await view(env, bad)
        assert refused["salesforce"]["synced_version"] == 0
        assert PICKLIST_ERROR in refused["salesforce"]["last_error"]
        assert count(sim, "CKO_Payment__c", "CKO_Payment_Id__c", bad) == 0
        async with env.container.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(integration_logs).where(integration_logs.c.level == "ERROR")
                )
            ).mappings()
            (failure,) = list(rows)
        assert (failure["operation"], failure["error_code"]) == (
            "salesforce.upsert",
            PICKLIST_ERROR,
        )
        assert failure["checkout_payment_id"] == bad

        # The admin widens the picklist and retries the parked task: nothing was lost.
        sim.restricted_picklists.clear()
        async with env.container.uow() as uow:
            await uow.outbox.retry_dead(now=env.clock.now, kind=SYNC_PAYMENT_TASK)
            await uow.commit()
        await env.drain()
        repaired = await view(env, bad)
        assert repaired["salesforce"]["synced_version"] == repaired["salesforce"]["version"]
        assert repaired["salesforce"]["last_error"] is None
        assert count(sim, "CKO_Integration_Log__c", "Error_Code__c", PICKLIST_ERROR) == 1


async def test_a_burst_of_1000_events_costs_far_fewer_api_calls_than_events(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        payments = 250  # x 4 events each: authorized, captured, refund requested, refunded
        for n in range(payments):
            seed_order(sim, order_id_for(n))
            await seed_payment(env.container, n, order_id=order_id_for(n), status_events=4)
        events = payments * 4

        await env.drain()

        per_event = sim.api_calls / events
        print(f"\nburst: {sim.api_calls} API calls for {events} events = {per_event:.3f}/event")  # noqa: T201 - the figure the issue asks for
        assert per_event <= 0.01
        assert len(sim.records["CKO_Payment__c"]) == payments
        assert len(sim.records["CKO_Payment_Action__c"]) == payments * 3
        assert len(sim.records["CKO_Integration_Log__c"]) == events
        orders = [sim.records["Order"][order_id_for(n)] for n in range(payments)]
        assert {o["CKO_Payment_Status__c"] for o in orders} == {"Partially Refunded"}
        assert {t["status"] for t in await outbox_rows(env.container, SYNC_PAYMENT_TASK)} == {
            "done"
        }
        usage = env.container.metrics.salesforce_api_usage.labels("used")._value.get()
        assert usage == sim.api_calls


async def test_token_expiry_mid_run_costs_one_refresh(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        await seed_payment(env.container, 1)
        await env.drain()
        sim.expire_tokens()
        await seed_payment(env.container, 2)
        await seed_payment(env.container, 3)
        await env.drain()

        assert sim.token_calls == 2
        assert len(sim.records["CKO_Payment__c"]) == 3


async def test_only_configured_levels_are_mirrored_and_orphan_logs_are_swept(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim, log_levels="error,warning") as env:
        checkout_id = await seed_payment(env.container, 1)  # with one INFO log
        now = env.clock.now
        async with env.container.uow() as uow:
            payment = await uow.payments.get_by_checkout_id(checkout_id, for_update=True)
            assert payment is not None
            await uow.logs.add(log_row(payment["id"], checkout_id, now=now, level="WARN"))
            # A webhook for a payment paybridge does not know: no payment row to ride with.
            await add_integration_log(
                uow, log_row(None, "pay_unknown", now=now, level="ERROR"), now=now
            )
            await uow.commit()

        await env.drain()

        statuses = sorted((await log_statuses(env.container)).values())
        assert statuses == ["skipped", "synced", "synced"]
        logs = sim.records["CKO_Integration_Log__c"].values()
        assert sorted(row["Level__c"] for row in logs) == ["Error", "Warning"]
        orphan = next(row for row in logs if row["Level__c"] == "Error")
        assert "Payment__c" not in orphan  # no lookup to a payment Salesforce doesn't have
        sweeps = await outbox_rows(env.container, SYNC_LOGS_TASK)
        (sweep,) = [task for task in sweeps if task["status"] == "pending"]
        assert sweep["next_attempt_at"] == now + timedelta(seconds=60)


async def test_logs_wait_while_api_usage_is_high_and_payments_do_not(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    sim.api_limit = 10
    sim.api_calls = 8
    async with salesforce_env(pg_url, sim, checkout_sim, log_throttle_ratio=0.8) as env:
        await seed_payment(env.container, 1)
        await env.drain()  # usage 9/10 is now known
        second = await seed_payment(env.container, 2)
        await env.drain()

        assert count(sim, "CKO_Payment__c", "CKO_Payment_Id__c", second) == 1
        assert len(sim.records["CKO_Integration_Log__c"]) == 1
        assert sorted((await log_statuses(env.container)).values()) == ["pending", "synced"]

        sim.api_limit = 1000  # a new day
        env.clock.now += timedelta(seconds=301)
        await env.drain()
        assert len(sim.records["CKO_Integration_Log__c"]) == 2
        assert set((await log_statuses(env.container)).values()) == {"synced"}


async def test_placeholder_actions_are_not_written(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        checkout_id = await seed_payment(env.container, 1)
        async with env.container.uow() as uow:
            payment = await uow.payments.get_by_checkout_id(checkout_id, for_update=True)
            assert payment is not None
            hold = ActionFact("requested:key-1", ActionType.CAPTURE, ActionStatus.REQUESTED, 500)
            await apply_facts(uow, payment, [hold], now=env.clock.now)
            await uow.commit()
        await env.drain()

        keys = [row["CKO_Action_Id__c"] for row in sim.records["CKO_Payment_Action__c"].values()]
        assert keys == ["act_auth000000000000000001"]


async def test_a_change_during_the_write_is_not_marked_synced(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    """The write runs with no transaction open (a row lock would deadlock this test), and
    the version marked synced is the one written, never the newer one."""
    sim = SalesforceSimulator()
    during: list[Callable[[], Awaitable[None]]] = []
    hooked = _HookTransport(sim.app, during)
    async with salesforce_env(pg_url, sim, checkout_sim, transport=hooked) as env:
        checkout_id = await seed_payment(env.container, 1)

        async def capture_meanwhile() -> None:
            async with env.container.uow() as uow:
                payment = await uow.payments.get_by_checkout_id(checkout_id, for_update=True)
                assert payment is not None
                fact = ActionFact("act_late", ActionType.CAPTURE, ActionStatus.SUCCEEDED, 10000)
                await apply_facts(uow, payment, [fact], now=env.clock.now)
                await uow.commit()

        during.append(capture_meanwhile)
        worker = build_worker(env.container)
        assert await worker.run_once() == 1
        body = await view(env, checkout_id)
        assert body["salesforce"]["synced_version"] == body["salesforce"]["version"] - 1
        statuses = [t["status"] for t in await outbox_rows(env.container, SYNC_PAYMENT_TASK)]
        assert sorted(statuses) == ["done", "pending"]
        await env.drain()
        body = await view(env, checkout_id)
        assert body["salesforce"]["synced_version"] == body["salesforce"]["version"]
        assert count(sim, "CKO_Payment_Action__c", "CKO_Action_Id__c", "act_late") == 1


class _HookTransport(httpx.ASGITransport):
    """Runs queued callbacks while the first composite request is in flight."""

    def __init__(self, app: Any, during: list[Callable[[], Awaitable[None]]]) -> None:
        super().__init__(app=app)
        self._during = during

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/composite") and self._during:
            await self._during.pop(0)()
        return await super().handle_async_request(request)


async def test_without_salesforce_settings_sync_tasks_stay_queued(
    client: httpx.AsyncClient, container: Container
) -> None:
    assert SYNC_PAYMENT_TASK not in build_handlers(container)
    assert container.salesforce_sync is None
    created = await client.post(
        "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "key-no-sf-000001"}
    )
    assert created.status_code == 201
    await build_worker(container).drain()

    (task,) = await outbox_rows(container, SYNC_PAYMENT_TASK)
    assert task["status"] == "pending"


async def test_logs_salesforce_refused_go_out_again_when_asked(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    sim.restricted_picklists[("CKO_Integration_Log__c", "Level__c")] = {"Error"}
    async with salesforce_env(pg_url, sim, checkout_sim, log_levels="error,info") as env:
        now = env.clock.now
        async with env.container.uow() as uow:
            await add_integration_log(uow, log_row(None, "pay_nowhere", now=now), now=now)
            await uow.commit()
        await env.drain()
        assert list((await log_statuses(env.container)).values()) == ["failed"]
        assert env.container.salesforce_sync is not None

        sim.restricted_picklists.clear()  # the admin adds the picklist value
        assert await env.container.salesforce_sync.resend_failed_logs() == 1
        await env.drain()

        assert list((await log_statuses(env.container)).values()) == ["synced"]
        assert len(sim.records["CKO_Integration_Log__c"]) == 1
        assert await env.container.salesforce_sync.resend_failed_logs() == 0


async def test_a_multi_currency_org_gets_each_records_currency_once_it_is_active(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator, tmp_path: Path
) -> None:
    """CurrencyIsoCode is a restricted picklist of the org's active currencies: a payment in a
    currency the org has not activated is parked with the reason, and written once it is."""
    sim.multi_currency("USD")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("profiles: {custom: {multi_currency: true}}")
    async with salesforce_env(pg_url, sim, checkout_sim, mapping_file=str(mapping)) as env:
        checkout_id = await seed_payment(env.container, 1, order_id=ORDER_ID, status_events=2)

        await env.drain()

        refused = await view(env, checkout_id)
        assert PICKLIST_ERROR in refused["salesforce"]["last_error"]
        assert "CurrencyIsoCode" in refused["salesforce"]["last_error"]

        sim.multi_currency("USD", "EUR")  # the admin activates EUR and retries
        async with env.container.uow() as uow:
            await uow.outbox.retry_dead(now=env.clock.now, kind=SYNC_PAYMENT_TASK)
            await uow.commit()
        await env.drain()

        payment = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", checkout_id)
        assert payment is not None
        assert payment["CurrencyIsoCode"] == "EUR"
        actions = sim.find("CKO_Payment_Action__c", "Payment__c", payment["Id"])
        assert len(actions) == 2
        assert {action["CurrencyIsoCode"] for action in actions} == {"EUR"}
        # The Order keeps its own currency; logs hold no money.
        assert "CurrencyIsoCode" not in sim.records["Order"][ORDER_ID]
        assert all(
            "CurrencyIsoCode" not in log for log in sim.records["CKO_Integration_Log__c"].values()
        )
