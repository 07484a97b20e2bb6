"""The console shows an Order with several payments as Salesforce and the API do: its fields
come from all its payments, so a declined retry after the payment leaves it paid."""

from __future__ import annotations

import json
import uuid

import httpx

from paybridge.sandbox.wiring import Sandbox
from tests.sandbox.conftest import eventually


async def test_declined_retry_after_payment_leaves_the_order_paid(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    created = await browser.post(
        "/sandbox/payments", data={"amount": "80.00", "currency": "EUR", "capture": "true"}
    )
    paid = created.headers["location"].split("/")[-1].split("?")[0]
    order_id = (await sandbox.api.get(f"/v1/payments/{paid}")).json()["order_id"]
    order = sandbox.salesforce.records["Order"][order_id]

    # A second try on the same Order whose amount the simulated issuer declines (…05).
    retry = {
        "order": {
            "attributes": {"type": "Order"},
            "Id": order_id,
            "OrderNumber": order["OrderNumber"],
            "AccountId": "0015g00000XyZaBAAV",
            "TotalAmount": "__AMOUNT__",
            "CurrencyIsoCode": "EUR",
            "BillingCountryCode": "NL",
        },
        "customer": {"attributes": {"type": "Contact"}, "Id": "0035g00000QwErTAAV"},
        "payment_method": {"type": "token", "token": "tok_4gzeau5o2uqubbk6fufs3m7p54"},
        "capture": True,
    }
    response = await sandbox.api.post(
        "/v1/payments",
        content=json.dumps(retry).replace('"__AMOUNT__"', "80.05"),
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    declined = response.json()["payment_id"]
    assert response.json()["status"] == "Declined"

    async def both_synced() -> bool:
        written = sandbox.salesforce.records.get("CKO_Payment__c", {}).values()
        statuses = {r.get("Status__c") for r in written if r.get("Order__c") == order_id}
        return statuses == {"Captured", "Declined"}

    await eventually(both_synced)
    assert order["CKO_Payment_Id__c"] == paid
    assert order["CKO_Payment_Status__c"] == "Captured"

    listed = (await sandbox.api.get("/v1/payments", params={"order_id": order_id})).json()
    assert (listed["order"]["payment_id"], listed["order"]["status"]) == (paid, "Captured")
    assert listed["order"]["captured"] == "80.00"

    page = await browser.get(f"/sandbox/payments/{declined}")
    assert page.status_code == 200
    # The declined try's page shows its Order as Salesforce holds it: paid, by the first one.
    order_section = page.text[page.text.index("<h3>Order</h3>") :]
    assert paid in order_section.split("<h3>", 2)[1]
