"""Console pages render from paybridge's API and the simulators, escaped; webhook retries."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paybridge.sandbox.checkout_webhooks import WebhookSender, payment_event
from paybridge.sandbox.wiring import Sandbox
from tests.sandbox.conftest import eventually


async def test_create_from_the_console_then_pages_render(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    index = await browser.get("/sandbox")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert 'id="create-payment"' in index.text

    created = await browser.post(
        "/sandbox/payments", data={"amount": "80.00", "currency": "EUR", "capture": "true"}
    )
    assert created.status_code == 303
    location = created.headers["location"]
    assert location.startswith("/sandbox/payments/pay_")
    pid = location.split("/")[-1].split("?")[0]

    async def captured_in_salesforce() -> bool:
        record = sandbox.salesforce.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
        return record is not None and record["Status__c"] == "Captured"

    await eventually(captured_in_salesforce)
    page = await browser.get(location)
    assert page.status_code == 200
    for expected in ("Captured", "80.00 EUR", "payment_captured", "CKO_Payment__c", "Refund"):
        assert expected in page.text
    assert "Created pay_" in page.text  # the notice

    listing = await browser.get("/sandbox")
    assert pid in listing.text
    org = await browser.get("/sandbox/salesforce")
    assert "CKO_Payment_Action__c" in org.text
    assert "API calls" in org.text


async def test_output_is_escaped(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/sandbox", params={"notice": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_unknown_payment_and_bad_amount(browser: httpx.AsyncClient) -> None:
    assert (await browser.get("/sandbox/payments/pay_nope")).status_code == 404
    refused = await browser.post("/sandbox/payments", data={"amount": "abc"})
    assert refused.status_code == 303
    assert "notice=Amount" in refused.headers["location"]


async def test_console_is_not_in_the_public_api(sandbox: Sandbox) -> None:
    paths = sandbox.app.openapi()["paths"]
    assert not [path for path in paths if path.startswith("/sandbox")]


async def test_webhooks_are_retried_until_paybridge_answers_2xx() -> None:
    answers = [503, 500, 200]
    received: list[str] = []

    async def endpoint(request: Request) -> JSONResponse:
        received.append(request.headers["cko-signature"])
        return JSONResponse({"status": "accepted"}, status_code=answers[len(received) - 1])

    target = Starlette(routes=[Route("/v1/webhooks/checkout", endpoint, methods=["POST"])])
    sender = WebhookSender(signature_key="whsec-test", retry_backoff_s=0.01)
    sender.connect(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url="http://t")
    )
    event = payment_event(
        "payment_approved",
        payment_id="pay_x",
        amount=100,
        currency="EUR",
        reference="R",
        metadata={},
        source_type="token",
    )
    delivery = sender.emit(event)
    assert delivery is not None
    assert delivery.outcome == "queued"
    assert await sender.wait_idle(5)
    assert (delivery.attempts, delivery.outcome, delivery.ack) == (3, "delivered", "accepted")
    assert len(set(received)) == 1  # the same signed bytes each time
    await sender.aclose()


async def test_closing_cancels_deliveries_in_flight() -> None:
    sender = WebhookSender(signature_key="k", delay_s=60)
    sender.connect(httpx.AsyncClient(base_url="http://127.0.0.1:9"))
    sender.emit({"id": "evt_1", "type": "payment_approved", "data": {"id": "pay_1"}})
    assert sender.in_flight() == 1
    await sender.aclose()
    assert sender.in_flight() == 0


async def test_the_console_asks_for_settlement_and_shows_fees_and_net(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    created = await browser.post(
        "/sandbox/payments", data={"amount": "80.00", "currency": "EUR", "capture": "true"}
    )
    location = created.headers["location"]
    pid = location.split("/")[-1].split("?")[0]

    async def captured_in_salesforce() -> bool:
        record = sandbox.salesforce.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
        return record is not None and record["Status__c"] == "Captured"

    await eventually(captured_in_salesforce)
    asked = await browser.post(f"/sandbox/payments/{pid}/settlement")
    assert asked.status_code == 303
    assert "Settlement%20of%201%20action" in asked.headers["location"]

    page = await browser.get(asked.headers["location"])
    # 80.00 less the simulator's documented fees: 0.16 + 0.06 + 0.82.
    for expected in ("Fees and settlement", "1.04", "78.96", "Ask Checkout.com for fees"):
        assert expected in page.text

    async def net_in_salesforce() -> bool:
        record = sandbox.salesforce.get("CKO_Payment__c", "CKO_Payment_Id__c", pid)
        return record is not None and str(record.get("Net_Amount__c")) == "78.96"

    await eventually(net_in_salesforce)
