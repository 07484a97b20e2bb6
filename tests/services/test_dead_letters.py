"""What a parked payment leaves behind gets out: its logs reach Salesforce though the
payment never did, and `webhooks retry-dead` works when the payment has changed since."""

from __future__ import annotations

from sqlalchemy import select

from paybridge.domain.facts import ActionFact
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.persistence.tables import integration_logs
from paybridge.services.ledger import SYNC_PAYMENT_TASK, apply_facts
from tests.salesforce_env import log_statuses, outbox_rows, salesforce_env, seed_payment
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator

PICKLIST_ERROR = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


async def test_a_parked_payments_logs_reach_salesforce_and_retry_dead_survives_a_twin(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    sim = SalesforceSimulator()
    sim.restricted_picklists[("CKO_Payment__c", "Status__c")] = {"Authorized"}
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        checkout_id = await seed_payment(env.container, 7, status_events=2)  # Captured
        await env.drain()
        (parked,) = await outbox_rows(env.container, SYNC_PAYMENT_TASK)
        assert parked["status"] == "dead"
        assert sim.find("CKO_Payment__c", "CKO_Payment_Id__c", checkout_id) == []

        # The sweep carries what the parked payment's sync never will: its event logs and
        # the failure log itself, without the lookup to a payment Salesforce lacks.
        assert env.container.salesforce_sync is not None
        await env.container.salesforce_sync.schedule_log_sweep()
        await env.drain()

        assert set((await log_statuses(env.container)).values()) == {"synced"}
        written = list(sim.records["CKO_Integration_Log__c"].values())
        assert len(written) == 3
        (failure,) = [log for log in written if log.get("Error_Code__c") == PICKLIST_ERROR]
        assert failure["Level__c"] == "Error"  # the picklist value the package ships
        assert all("Payment__r" not in log and not log.get("Payment__c") for log in written)

        # The payment changes again (a new pending sync), then the picklist is fixed.
        async with env.container.uow() as uow:
            payment = await uow.payments.get_by_checkout_id(checkout_id, for_update=True)
            assert payment is not None
            refund = ActionFact("act_refund_late", ActionType.REFUND, ActionStatus.REQUESTED, 100)
            await apply_facts(uow, payment, [refund], now=env.clock.now)
            await uow.commit()
        sim.restricted_picklists.clear()

        assert await env.container.webhooks.retry_dead() == 0  # its twin does the work
        await env.drain()

        syncs = await outbox_rows(env.container, SYNC_PAYMENT_TASK)
        assert sorted(task["status"] for task in syncs) == ["done", "done"]
        assert len(sim.find("CKO_Payment__c", "CKO_Payment_Id__c", checkout_id)) == 1
        async with env.container.engine.connect() as conn:
            statuses = (await conn.execute(select(integration_logs.c.sync_status))).scalars()
            assert set(statuses) == {"synced"}
