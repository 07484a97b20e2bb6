"""Bursts written as sObject Collections inside Composite requests: the API budget, and
per-record failures that stay with their own payment.

Salesforce's documented limits (enforced by the simulator): a Composite request is one API
call of up to 25 subrequests, at most 5 of them sObject Collections (REST API guide, "Send
Multiple Requests Using Composite"); a collection takes up to 200 records
(resources-composite-sobjects-collections-upsert); `allOrNone: false` keeps a refused record
from failing the others (requests_composite).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from paybridge.services.ledger import SYNC_PAYMENT_TASK
from tests.salesforce_env import order_id_for, outbox_rows, salesforce_env, seed_order, seed_payment
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator


class _Recorder(httpx.ASGITransport):
    """The simulator's transport, keeping each composite request body."""

    def __init__(self, sim: SalesforceSimulator) -> None:
        super().__init__(app=sim.app)
        self.composites: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/composite"):
            self.composites.append(json.loads(await request.aread()))
        return await super().handle_async_request(request)


def sent_records(recorder: _Recorder, sobject: str) -> list[dict[str, Any]]:
    return [
        record
        for body in recorder.composites
        for sub in body["compositeRequest"]
        if "/composite/sobjects" in sub["url"]
        for record in sub["body"]["records"]
        if record["attributes"]["type"] == sobject
    ]


async def test_a_burst_of_1000_events_costs_at_most_10_api_calls(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    sim = SalesforceSimulator()
    recorder = _Recorder(sim)
    async with salesforce_env(pg_url, sim, checkout_sim, transport=recorder) as env:
        payments = 250  # x 4 events: authorized, captured, refund requested, refunded
        for n in range(payments):
            seed_order(sim, order_id_for(n))
            await seed_payment(env.container, n, order_id=order_id_for(n), status_events=4)

        await env.drain()

        assert sim.api_calls <= 10  # ≤ 0.01 per event
        assert len(sim.records["CKO_Payment__c"]) == payments
        assert len(sim.records["CKO_Payment_Action__c"]) == payments * 3
        assert len(sim.records["CKO_Integration_Log__c"]) == payments * 4
        for body in recorder.composites:
            assert body["allOrNone"] is False
            assert body["collateSubrequests"] is False
            assert all(sub["body"]["allOrNone"] is False for sub in body["compositeRequest"])
        # Nothing written twice: every record went out once.
        for sobject, key in (("CKO_Payment__c", "CKO_Payment_Id__c"), ("Order", "id")):
            keys = [record[key] for record in sent_records(recorder, sobject)]
            assert len(keys) == len(set(keys)) == payments
        tasks = await outbox_rows(env.container, SYNC_PAYMENT_TASK)
        assert {task["status"] for task in tasks} == {"done"}


async def test_a_locked_row_postpones_only_its_own_payment_and_nothing_is_written_twice(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    sim = SalesforceSimulator()
    recorder = _Recorder(sim)
    async with salesforce_env(pg_url, sim, checkout_sim, transport=recorder) as env:
        ids = [await seed_payment(env.container, n) for n in range(6)]
        sim.lock_rows_next(1)  # the first record written: the first payment's own record

        await env.drain()

        tasks = {
            t["payload"]["payment_id"]: t
            for t in await outbox_rows(env.container, SYNC_PAYMENT_TASK)
        }
        assert sorted(t["status"] for t in tasks.values()) == ["done"] * 5 + ["pending"]
        (waiting,) = [t for t in tasks.values() if t["status"] == "pending"]
        assert "UNABLE_TO_LOCK_ROW" in waiting["last_error"]
        assert len(recorder.composites) == 1  # one API call for all six
        assert len(sim.records["CKO_Payment__c"]) == 5
        # Its children were sent (their lookup failed), its neighbours' were written.
        assert len(sim.records["CKO_Payment_Action__c"]) == 5

        env.clock.now += timedelta(minutes=5)
        await env.drain()

        assert all(len(sim.find("CKO_Payment__c", "CKO_Payment_Id__c", i)) == 1 for i in ids)
        assert len(sim.records["CKO_Payment_Action__c"]) == 6
        # The neighbours went out once; only the postponed payment was sent again, alone.
        sent = [r["CKO_Payment_Id__c"] for r in sent_records(recorder, "CKO_Payment__c")]
        assert sorted(sent) == sorted(ids)
        assert len(recorder.composites) == 2
        (retry,) = recorder.composites[1:]  # the first record written was ids[0]'s
        urls = [sub["url"] for sub in retry["compositeRequest"]]
        assert any(url.endswith(f"/CKO_Payment_Id__c/{ids[0]}") for url in urls)
        assert not any(other in url for url in urls for other in ids[1:])
        statuses = {t["status"] for t in await outbox_rows(env.container, SYNC_PAYMENT_TASK)}
        assert statuses == {"done"}


@pytest.mark.parametrize("payments", [3])
async def test_payments_of_one_order_write_their_order_once(
    pg_url: str, checkout_sim: CheckoutSimulator, payments: int
) -> None:
    sim = SalesforceSimulator()
    recorder = _Recorder(sim)
    async with salesforce_env(pg_url, sim, checkout_sim, transport=recorder) as env:
        seed_order(sim, order_id_for(7))
        for n in range(payments):
            await seed_payment(env.container, n, order_id=order_id_for(7), status_events=2)

        await env.drain()

        orders = sent_records(recorder, "Order")
        assert [order["id"] for order in orders] == [order_id_for(7)]
        assert sim.api_calls == 1
        assert len(sim.records["CKO_Payment__c"]) == payments
        statuses = {t["status"] for t in await outbox_rows(env.container, SYNC_PAYMENT_TASK)}
        assert statuses == {"done"}
