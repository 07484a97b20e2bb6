"""Settlement over real processes: `paybridge serve`, then the operator's
`paybridge settlement sync --from --to` asking the simulated Checkout.com for financial
actions — and the fees reaching the payment view and the simulated Salesforce."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.e2e.checks import rows, settled
from tests.e2e.client import PaybridgeClient, new_order, order_payment
from tests.e2e.harness import Stack
from tests.e2e.processes import paybridge_command


@pytest.fixture(scope="module")
async def api(stack: Stack) -> AsyncIterator[PaybridgeClient]:
    server = await stack.serve("api")
    await stack.sims.checkout_control("webhooks", url=server.base_url)  # as Checkout.com does
    client = PaybridgeClient(server.base_url)
    yield client
    await client.aclose()


async def test_the_settlement_cli_brings_fees_to_the_view_and_to_salesforce(
    stack: Stack, api: PaybridgeClient
) -> None:
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    created = await api.create(order_payment(order_id, number, capture=True), key=f"c-{number}")
    assert created.status_code == 201, created.text
    pid = created.json()["payment_id"]
    view = (await settled(stack, api, [pid]))[pid]
    assert view["status"] == "Captured"

    today = datetime.now(UTC).date().isoformat()
    argv = paybridge_command("settlement", "sync", "--from", today, "--to", today)
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=stack.environment(),
        cwd=stack.workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode()
    assert b"1 day(s) swept" in output

    view = (await settled(stack, api, [pid]))[pid]
    # 149.90 less the simulator's documented fees: 0.30 + 0.09 + 1.45.
    assert view["settlement"] == [
        {
            "currency": "EUR",
            "gross": "149.90",
            "fees": "1.84",
            "net": "148.06",
            "settled_actions": 1,
        }
    ]
    state = await stack.sims.salesforce_state()
    (record,) = rows(state, "CKO_Payment__c", CKO_Payment_Id__c=pid)
    assert Decimal(str(record["Net_Amount__c"])) == Decimal("148.06")
    (capture,) = [
        row
        for row in rows(state, "CKO_Payment_Action__c", Payment__c=record["Id"])
        if row["Type__c"] == "Capture"
    ]
    assert Decimal(str(capture["Fees__c"])) == Decimal("1.84")
