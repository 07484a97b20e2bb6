"""What Salesforce gets: the fees and settlement of a capture on its action record and the
payment's totals, an authorization's expiry, and the WARN logs of both watches."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from paybridge.domain.status import ActionType
from tests.api.payloads import ORDER
from tests.api.test_actions import act, confirm, create
from tests.salesforce_env import salesforce_env
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator


def money(value: object) -> Decimal:
    return Decimal(str(value))


async def test_settlement_and_expiry_reach_salesforce_with_their_warnings(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    sim = SalesforceSimulator()
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        container, client = env.container, env.http
        pid = await create(client, capture=False, order={**ORDER, "TotalAmount": 100.00})
        await env.drain()

        payment = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
        assert payment is not None
        (authorization,) = [
            row
            for row in sim.records.get("CKO_Payment_Action__c", {}).values()
            if row.get("Type__c") == "Authorization"
        ]
        # Checkout.com's own expiry (`expires_on` of the 201): 7 days for a card.
        authorized = datetime.fromisoformat(authorization["Processed_At__c"])
        expires = datetime.fromisoformat(authorization["Expires_At__c"])
        assert abs(expires - authorized - timedelta(days=7)) < timedelta(seconds=5)

        env.clock.now = expires - timedelta(hours=23)
        assert await container.authorization_expiry.check() == (0, 1)
        await env.drain()
        (warning,) = sim.find("CKO_Integration_Log__c", "Level__c", "Warning")
        assert warning["Operation__c"] == "authorization.expiring"

        response = await act(client, pid, "captures", {})
        capture_id = str(response.json()["action_id"])
        await confirm(container, pid, capture_id)
        await container.settlement.settle_payment(pid)
        await env.drain()

        capture = sim.get("CKO_Payment_Action__c", "CKO_Action_Id__c", capture_id)
        assert capture is not None
        assert capture["Type__c"] == ActionType.CAPTURE.value.capitalize()
        assert money(capture["Net_Amount__c"]) == Decimal("98.73")
        assert money(capture["Fees__c"]) == Decimal("1.27")
        assert money(capture["Interchange_Fees__c"]) == Decimal("0.20")
        assert capture["Settlement_Currency__c"] == "EUR"
        assert capture["Settled_On__c"] == checkout_sim.financial_times[capture_id][:10]
        payment = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
        assert payment is not None
        assert (money(payment["Net_Amount__c"]), money(payment["Fees__c"])) == (
            Decimal("98.73"),
            Decimal("1.27"),
        )
