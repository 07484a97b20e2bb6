"""Dispute Cases in the Salesforce simulator: lifecycles, outcomes and unknown payments."""

from __future__ import annotations

from typing import Any

import pytest

from paybridge.services.dispute_fold import SYNC_DISPUTE_TASK
from paybridge.services.ledger import SYNC_PAYMENT_TASK
from tests.salesforce_env import ORDER_ID, Env, outbox_rows, salesforce_env
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator
from tests.webhook_events import dispute_event, event, signed

PID = "pay_sfdispute0000000000000001"
ACCOUNT = "0015g00000XyZaBAAV"
METADATA = {"sf_order_id": ORDER_ID, "sf_account_id": ACCOUNT}


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


async def deliver(env: Env, body: dict[str, Any]) -> None:
    raw, headers = signed(body)
    response = await env.http.post("/v1/webhooks/checkout", content=raw, headers=headers)
    assert response.status_code == 200


async def captured(env: Env, pid: str = PID) -> None:
    for kind, action in (("payment_approved", "act_auth_sf"), ("payment_captured", "act_cap_sf")):
        await deliver(env, event(kind, pid, action_id=f"{action}_{pid[-4:]}", metadata=METADATA))
    await env.drain()


def record_type_id(sim: SalesforceSimulator) -> str:
    record_type = sim.get("RecordType", "DeveloperName", "Payment_Dispute")
    assert record_type is not None
    return str(record_type["Id"])


async def dispute_step(
    env: Env, checkout: CheckoutSimulator, dsp: str, event_type: str, status: str
) -> dict[str, Any]:
    """Checkout.com moves the dispute and says so; the worker runs; the Case as it is now."""
    checkout.set_dispute_status(dsp, status)
    await deliver(env, dispute_event(event_type, dsp, payment_id=PID))
    await env.drain()
    case = env.sim.get("Case", "CKO_Dispute_Id__c", dsp)
    assert case is not None, f"no single Case for {dsp}"
    return case


async def test_case_follows_a_dispute_from_receipt_to_won(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        await captured(env)
        payment = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", PID)
        assert payment is not None
        assert payment["Disputed__c"] is False
        dsp = checkout_sim.add_dispute(payment_id=PID, amount=14990)

        case = await dispute_step(env, checkout_sim, dsp, "dispute_received", "evidence_required")
        assert case["Status"] == "New"
        assert case["CKO_Dispute_Status__c"] == "evidence_required"
        assert case["CKO_Payment__c"] == payment["Id"]  # linked through the payment record
        assert case["AccountId"] == ACCOUNT
        assert case["CKO_Payment_Reference__c"] == "00000100"
        assert case["CKO_Dispute_Category__c"] == "product_service_not_received"
        assert case["CKO_Dispute_Reason_Code__c"] == "13.1"
        assert str(case["CKO_Dispute_Amount__c"]) == "149.90"
        assert case["CKO_Evidence_Due_By__c"] == "2026-12-12T00:00:00.000Z"
        assert case["Origin"] == "Checkout.com"
        assert case["Subject"] == f"Payment dispute {dsp} on 00000100: product_service_not_received"
        assert case["RecordTypeId"] == record_type_id(sim)  # `Payment_Dispute`, looked up
        disputed = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", PID)
        assert disputed is not None
        assert disputed["Disputed__c"] is True

        submitted = await env.http.post(
            f"/v1/disputes/{dsp}/evidence/submit", headers={"Idempotency-Key": "submit-key-1"}
        )
        assert submitted.status_code == 202, submitted.text
        await env.drain()
        after_submit = env.sim.get("Case", "CKO_Dispute_Id__c", dsp)
        assert after_submit is not None
        assert (after_submit["Status"], after_submit["CKO_Dispute_Status__c"]) == (
            "Working",
            "evidence_under_review",
        )

        case = await dispute_step(
            env, checkout_sim, dsp, "dispute_evidence_submitted", "evidence_under_review"
        )
        assert case["Status"] == "Working"
        case = await dispute_step(env, checkout_sim, dsp, "dispute_won", "won")
        assert (case["Status"], case["CKO_Dispute_Status__c"]) == ("Closed", "won")

        assert len(sim.records["Case"]) == 1
        body = (await env.http.get(f"/v1/payments/{PID}")).json()
        assert body["amounts"]["lost_in_disputes"] == "0.00"
        assert body["salesforce"]["synced_version"] == body["salesforce"]["version"]


@pytest.mark.parametrize(
    ("event_type", "status", "lost"),
    [
        ("dispute_lost", "lost", "149.90"),
        ("dispute_accepted", "accepted", "149.90"),
        ("dispute_expired", "expired", "149.90"),
        ("dispute_canceled", "canceled", "0.00"),
    ],
)
async def test_case_closes_on_every_outcome(
    pg_url: str,
    checkout_sim: CheckoutSimulator,
    sim: SalesforceSimulator,
    event_type: str,
    status: str,
    lost: str,
) -> None:
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        await captured(env)
        dsp = checkout_sim.add_dispute(payment_id=PID)
        await dispute_step(env, checkout_sim, dsp, "dispute_evidence_required", "evidence_required")

        case = await dispute_step(env, checkout_sim, dsp, event_type, status)

        assert (case["Status"], case["CKO_Dispute_Status__c"]) == ("Closed", status)
        body = (await env.http.get(f"/v1/payments/{PID}")).json()
        assert body["amounts"]["lost_in_disputes"] == lost
        assert len(sim.records["Case"]) == 1


async def test_case_of_an_unknown_payment_is_written_then_linked(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    pid = "pay_sfelsewhere000000000000001"
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        dsp = checkout_sim.add_dispute(payment_id=pid, amount=2500)
        await deliver(env, dispute_event("dispute_evidence_required", dsp, payment_id=pid))
        await env.drain()

        case = sim.get("Case", "CKO_Dispute_Id__c", dsp)
        assert case is not None
        assert case.get("CKO_Payment__c") is None  # no payment record to point at
        assert case["CKO_Payment_Id__c"] == pid
        assert case["RecordTypeId"] == record_type_id(sim)
        assert case["Status"] == "New"
        assert [t["status"] for t in await outbox_rows(env.container, SYNC_DISPUTE_TASK)] == [
            "done"
        ]

        await captured(env, pid)

        payment = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
        assert payment is not None
        assert payment["Disputed__c"] is True
        case = sim.get("Case", "CKO_Dispute_Id__c", dsp)
        assert case is not None
        assert case["CKO_Payment__c"] == payment["Id"]
        assert case["AccountId"] == ACCOUNT
        assert len(sim.records["Case"]) == 1


async def test_a_refused_case_is_dead_lettered_with_its_reason(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    sim.restricted_picklists[("Case", "Status")] = {"Open"}
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        dsp = checkout_sim.add_dispute(payment_id="pay_sfrefused00000000000000001")
        await deliver(env, dispute_event("dispute_evidence_required", dsp))
        await env.drain()

        (task,) = await outbox_rows(env.container, SYNC_DISPUTE_TASK)
        assert task["status"] == "dead"
        assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in task["last_error"]
        assert sim.records["Case"] == {}


async def test_a_record_type_missing_in_the_org_parks_the_sync_with_the_reason(
    pg_url: str, checkout_sim: CheckoutSimulator, sim: SalesforceSimulator
) -> None:
    sim.records["RecordType"].clear()  # the package's record type was never deployed
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        await captured(env)
        dsp = checkout_sim.add_dispute(payment_id=PID)
        await deliver(env, dispute_event("dispute_evidence_required", dsp, payment_id=PID))
        await env.drain()

        assert sim.find("Case", "CKO_Dispute_Id__c", dsp) == []  # no Case of the wrong type
        parked = [
            t for t in await outbox_rows(env.container, SYNC_PAYMENT_TASK) if t["status"] == "dead"
        ]
        assert len(parked) == 1
        assert (
            "`dispute_case.record_type: Payment_Dispute` names nothing" in parked[0]["last_error"]
        )
        body = (await env.http.get(f"/v1/payments/{PID}")).json()
        assert "Payment_Dispute" in body["salesforce"]["last_error"]

        # The admin deploys the record type and retries the parked task.
        sim.seed("RecordType", {"SobjectType": "Case", "DeveloperName": "Payment_Dispute"})
        async with env.container.uow() as uow:
            await uow.outbox.retry_dead(now=env.clock.now, kind=SYNC_PAYMENT_TASK)
            await uow.commit()
        await env.drain()
        case = sim.get("Case", "CKO_Dispute_Id__c", dsp)
        assert case is not None
        assert case["RecordTypeId"] == record_type_id(sim)
