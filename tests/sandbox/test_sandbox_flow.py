"""End to end in one process: API → simulated Checkout.com → signed webhook → worker →
simulated Salesforce, driven the way Salesforce and a shopper would."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from paybridge.sandbox.checkout_cards import TOKEN_APPROVED, TOKEN_THREE_DS
from paybridge.sandbox.wiring import DEMO_ORDER_ID, Sandbox, WebhookKnobs
from tests.sandbox.conftest import PUBLIC_URL, eventually, make_sandbox


def payment_request(*, token: str, amount: str = "149.90", capture: bool = False) -> str:
    body = {
        "order": {
            "attributes": {"type": "Order"},
            "Id": DEMO_ORDER_ID,
            "OrderNumber": "00000100",
            "AccountId": "0015g00000XyZaBAAV",
            "TotalAmount": "__AMOUNT__",
            "CurrencyIsoCode": "EUR",
            "BillingCity": "Amsterdam",
            "BillingCountryCode": "NL",
        },
        "customer": {"attributes": {"type": "Contact"}, "Id": "0035g00000QwErTAAV"},
        "payment_method": {"type": "token", "token": token},
        "capture": capture,
    }
    return json.dumps(body).replace('"__AMOUNT__"', amount)


async def create(sandbox: Sandbox, **kwargs: Any) -> httpx.Response:
    return await sandbox.api.post(
        "/v1/payments",
        content=payment_request(**kwargs),
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
    )


async def payment(sandbox: Sandbox, pid: str) -> dict[str, Any]:
    response = await sandbox.api.get(f"/v1/payments/{pid}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def settled(sandbox: Sandbox, pid: str, status: str) -> None:
    """Status reached in paybridge and written to Salesforce."""

    async def check() -> bool:
        state = await payment(sandbox, pid)
        sync = state["salesforce"]
        record = sandbox.salesforce.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
        return (
            state["status"] == status
            and sync["synced_version"] == sync["version"]
            and record is not None
            and record["Status__c"] == status
        )

    try:
        await eventually(check)
    except TimeoutError:
        state = await payment(sandbox, pid)
        record = sandbox.salesforce.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
        raise AssertionError(f"not {status}: {state}, Salesforce: {record}") from None


async def test_three_ds_complete_then_capture_reaches_salesforce(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    created = await create(sandbox, token=TOKEN_THREE_DS)
    assert created.status_code == 202
    pid, redirect = created.json()["payment_id"], created.json()["redirect_url"]
    assert redirect == f"{PUBLIC_URL}/sandbox/checkout/redirect/{pid}"

    challenge = await browser.get(redirect)
    assert challenge.status_code == 200
    assert "Complete" in challenge.text
    assert "Fail" in challenge.text
    done = await browser.post(redirect, data={"outcome": "complete"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/sandbox/payments/{pid}")

    await settled(sandbox, pid, "Authorized")
    types = [d.type for d in sandbox.webhooks.deliveries if d.subject_id == pid]
    assert types == ["payment_pending", "payment_approved"]
    assert all(d.ack == "accepted" for d in sandbox.webhooks.deliveries)

    captured = await browser.post(f"/sandbox/payments/{pid}/captures", data={})
    assert captured.status_code == 303
    await settled(sandbox, pid, "Captured")
    org = sandbox.salesforce
    record = org.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
    assert record is not None
    assert Decimal(str(record["Captured_Amount__c"])) == Decimal("149.90")
    order = org.records["Order"][DEMO_ORDER_ID]
    assert order["CKO_Payment_Id__c"] == pid
    assert order["CKO_Payment_Status__c"] == "Captured"
    actions = org.find("CKO_Payment_Action__c", "Payment__c", record["Id"])
    assert sorted(a["Type__c"] for a in actions) == ["Authorization", "Capture"]
    assert org.find("CKO_Integration_Log__c", "Payment__c", record["Id"])


async def test_three_ds_failure_declines(sandbox: Sandbox, browser: httpx.AsyncClient) -> None:
    created = await create(sandbox, token=TOKEN_THREE_DS)
    pid = created.json()["payment_id"]
    await browser.post(created.json()["redirect_url"], data={"outcome": "fail"})
    await settled(sandbox, pid, "Declined")
    assert "payment_authentication_failed" in [d.type for d in sandbox.webhooks.deliveries]


async def test_decline_amount(sandbox: Sandbox) -> None:
    created = await create(sandbox, token=TOKEN_APPROVED, amount="100.05")
    assert created.status_code == 201
    assert created.json()["approved"] is False
    assert created.json()["response_code"] == "20005"
    await settled(sandbox, created.json()["payment_id"], "Declined")


async def test_refund_and_dispute_from_the_console(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    created = await create(sandbox, token=TOKEN_APPROVED, capture=True)
    pid = created.json()["payment_id"]
    await settled(sandbox, pid, "Captured")

    refunded = await browser.post(f"/sandbox/payments/{pid}/refunds", data={"amount": "40.00"})
    assert refunded.status_code == 303
    await settled(sandbox, pid, "Partially Refunded")

    opened = await browser.post(f"/sandbox/payments/{pid}/disputes", data={})
    assert "Dispute%20dsp_" in opened.headers["location"]
    (dispute_id,) = sandbox.checkout.disputes

    async def case_written() -> bool:
        case = sandbox.salesforce.get("Case", "CKO_Dispute_Id__c", dispute_id)
        return case is not None and (await payment(sandbox, pid))["disputed"]

    await eventually(case_written)
    page = await browser.get(f"/sandbox/payments/{pid}")
    assert dispute_id in page.text
    assert "Accept dispute" in page.text


async def test_duplicated_and_reordered_webhooks_converge(tmp_path: Path) -> None:
    sandbox = await make_sandbox(tmp_path, WebhookKnobs(delay_s=0.05, duplicates=2, reorder=True))
    async with sandbox.app.router.lifespan_context(sandbox.app):
        created = await create(sandbox, token=TOKEN_APPROVED, capture=True)
        pid = created.json()["payment_id"]
        await settled(sandbox, pid, "Captured")
        assert await sandbox.webhooks.wait_idle()
        deliveries = [d for d in sandbox.webhooks.deliveries if d.subject_id == pid]
        # Emitted together (approved, captured) and sent newest first, three times each.
        assert [d.type for d in deliveries] == ["payment_approved", "payment_captured"]
        assert all(d.attempts == 3 and d.outcome == "delivered" for d in deliveries)
        state = await payment(sandbox, pid)
        assert [a["type"] for a in state["actions"]] == ["authorization", "capture"]
