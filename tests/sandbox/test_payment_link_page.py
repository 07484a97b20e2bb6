"""The sandbox's payment links, driven as people would: the console's "Create link" button,
the shopper on the simulated Checkout.com hosted page (declined, then approved; a 3DS card),
and the result in paybridge and in the simulated Salesforce."""

from __future__ import annotations

from typing import Any

import httpx

from paybridge.sandbox.checkout_cards import (
    LINK_CARD_APPROVED,
    LINK_CARD_DECLINED,
    LINK_CARD_THREE_DS,
)
from paybridge.sandbox.wiring import Sandbox
from tests.sandbox.conftest import PUBLIC_URL, eventually


async def create_link_in_console(browser: httpx.AsyncClient, sandbox: Sandbox) -> str:
    before = set(sandbox.checkout.links)
    response = await browser.post(
        "/sandbox/links", data={"amount": "42.50", "currency": "EUR", "expires_in": "3600"}
    )
    assert response.status_code == 303
    assert "Created" in response.headers["location"]
    (link_id,) = set(sandbox.checkout.links) - before
    return link_id


async def link_state(sandbox: Sandbox, link_id: str) -> dict[str, Any]:
    response = await sandbox.api.get(f"/v1/payment-links/{link_id}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_a_link_created_in_the_console_is_paid_on_its_page_after_a_decline(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    link_id = await create_link_in_console(browser, sandbox)
    url = (await link_state(sandbox, link_id))["url"]
    assert url == f"{PUBLIC_URL}/sandbox/checkout/link/{link_id}"
    page = await browser.get(url)
    assert page.status_code == 200
    assert 'id="pay-link"' in page.text

    declined = await browser.post(url, data={"card": LINK_CARD_DECLINED})
    assert "declined" in declined.headers["location"]
    approved = await browser.post(url, data={"card": LINK_CARD_APPROVED})
    assert "approved" in approved.headers["location"]

    async def paid_in_salesforce() -> bool:
        record = sandbox.salesforce.get("CKO_Payment_Link__c", "CKO_Link_Id__c", link_id)
        return record is not None and record.get("Status__c") == "Paid"

    await eventually(paid_in_salesforce)
    state = await link_state(sandbox, link_id)
    payment = sandbox.salesforce.get("CKO_Payment__c", "CKO_Payment_Id__c", state["payment_id"])
    record = sandbox.salesforce.get("CKO_Payment_Link__c", "CKO_Link_Id__c", link_id)
    assert state["status"] == "Paid"
    assert payment is not None
    assert record is not None
    assert record["Payment__c"] == payment["Id"]
    assert payment["Order__c"] == state["order_id"]
    closed = await browser.get(url)
    assert 'id="pay-link"' not in closed.text
    listed = await browser.get("/sandbox/links")
    assert link_id in listed.text
    assert "Paid" in listed.text


async def test_a_three_ds_card_goes_through_the_challenge_page(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    link_id = await create_link_in_console(browser, sandbox)
    url = f"{PUBLIC_URL}/sandbox/checkout/link/{link_id}"

    challenge = await browser.post(url, data={"card": LINK_CARD_THREE_DS})
    assert "/sandbox/checkout/redirect/" in challenge.headers["location"]
    assert (await link_state(sandbox, link_id))["status"] == "Active"
    done = await browser.post(challenge.headers["location"], data={"outcome": "complete"})
    assert done.status_code == 303

    async def paid() -> bool:
        return bool((await link_state(sandbox, link_id))["status"] == "Paid")

    await eventually(paid)


async def test_a_wrong_card_is_refused_and_an_unknown_link_is_404(
    sandbox: Sandbox, browser: httpx.AsyncClient
) -> None:
    link_id = await create_link_in_console(browser, sandbox)

    refused = await browser.post(
        f"/sandbox/checkout/link/{link_id}", data={"card": "4111111111111111"}
    )
    unknown = await browser.get("/sandbox/checkout/link/pl_nosuchlink00")

    assert refused.status_code == 400
    assert unknown.status_code == 404
