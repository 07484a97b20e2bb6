"""End to end: a payment made, captured and refunded through the API and signed webhooks ends
up in Salesforce as exactly the expected records, in both profiles, at ~1 API call per event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.api.payloads import payment_body
from tests.salesforce_env import ORDER_ID, Env, salesforce_env
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator
from tests.webhook_events import event, signed

WEBHOOKS = "/v1/webhooks/checkout"


async def deliver(env: Env, body: dict[str, Any]) -> None:
    raw, headers = signed(body)
    response = await env.http.post(WEBHOOKS, content=raw, headers=headers)
    assert response.status_code == 200, response.text


async def lifecycle(env: Env) -> tuple[str, str, str, int]:
    """Create, capture 100.00 (confirmed by webhook), refund 40.00 (confirmed by webhook),
    draining the worker after each step as a live worker would. Returns the ids and the
    number of state-changing events."""
    created = await env.http.post(
        "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "key-e2e-create-0001"}
    )
    assert created.status_code == 201, created.text
    pid = created.json()["payment_id"]
    await env.drain()
    capture = await env.http.post(
        f"/v1/payments/{pid}/captures",
        json={"amount": 100},
        headers={"Idempotency-Key": "key-e2e-capture-0001"},
    )
    capture_id = capture.json()["action_id"]
    await env.drain()
    await deliver(env, event("payment_captured", pid, action_id=capture_id, amount=10000))
    await env.drain()
    refund = await env.http.post(
        f"/v1/payments/{pid}/refunds",
        json={"amount": 40},
        headers={"Idempotency-Key": "key-e2e-refund-0001"},
    )
    refund_id = refund.json()["action_id"]
    await env.drain()
    await deliver(env, event("payment_refunded", pid, action_id=refund_id, amount=4000))
    await env.drain()
    return pid, capture_id, refund_id, 5


def only(sim: SalesforceSimulator, sobject: str, field: str, value: Any) -> dict[str, Any]:
    rows = sim.find(sobject, field, value)
    assert len(rows) == 1, f"{sobject} {field}={value}: {len(rows)} records"
    return rows[0]


def assert_no_duplicates(sim: SalesforceSimulator, keys: dict[str, str]) -> None:
    for sobject, key_field in keys.items():
        values = [row.get(key_field) for row in sim.records.get(sobject, {}).values()]
        assert len(values) == len(set(values)), f"{sobject} has duplicate {key_field}"


async def test_custom_profile_holds_exactly_the_expected_records(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    sim = SalesforceSimulator()
    async with salesforce_env(pg_url, sim, checkout_sim) as env:
        pid, capture_id, refund_id, events = await lifecycle(env)
        view = (await env.http.get(f"/v1/payments/{pid}")).json()

    payment = only(sim, "CKO_Payment__c", "CKO_Payment_Id__c", pid)
    assert {k: v for k, v in payment.items() if k not in ("Id", "Last_Event_At__c")} == {
        "CKO_Payment_Id__c": pid,
        "Order__c": ORDER_ID,
        "Account__c": "0015g00000XyZaBAAV",
        "Reference__c": "00000100",
        "Status__c": "Partially Refunded",
        "Currency__c": "EUR",
        "Amount__c": Decimal("149.90"),
        "Authorized_Amount__c": Decimal("149.90"),
        "Captured_Amount__c": Decimal("100.00"),
        "Refunded_Amount__c": Decimal("40.00"),
        "Payment_Method__c": "token",
        "Card_Last4__c": "4242",
        "Response_Code__c": "10000",
        "Response_Summary__c": "Approved",
        "Market__c": "default",
        "Business_Unit__c": None,  # the default market sets no reporting fields
        "Settlement_Entity__c": None,
        "Disputed__c": False,
        "Version__c": view["salesforce"]["version"],
        # Not settled yet (the daily sweep has not asked): written empty.
        "Fees__c": None,
        "Net_Amount__c": None,
        "Settlement_Currency__c": None,
    }
    actions = {
        row["CKO_Action_Id__c"]: row for row in sim.records["CKO_Payment_Action__c"].values()
    }
    authorization_id = next(a["action_id"] for a in view["actions"] if a["type"] == "authorization")
    assert set(actions) == {authorization_id, capture_id, refund_id}
    assert {
        key: (row["Type__c"], row["Status__c"], row["Amount__c"]) for key, row in actions.items()
    } == {
        authorization_id: ("Authorization", "Succeeded", Decimal("149.90")),
        capture_id: ("Capture", "Succeeded", Decimal("100.00")),
        refund_id: ("Refund", "Succeeded", Decimal("40.00")),
    }
    assert all(row["Payment__c"] == payment["Id"] for row in actions.values())
    order = sim.records["Order"][ORDER_ID]
    assert order == {
        "Id": ORDER_ID,
        "Status": "Draft",
        "CKO_Payment_Id__c": pid,
        "CKO_Payment_Status__c": "Partially Refunded",
        "CKO_Amount_Captured__c": Decimal("100.00"),
        "CKO_Amount_Refunded__c": Decimal("40.00"),
    }
    logs = sorted(sim.records["CKO_Integration_Log__c"].values(), key=lambda r: r["Id"])
    assert [(row["Operation__c"], row["Direction__c"], row["Level__c"]) for row in logs] == [
        ("payments.create", "Outbound", "Info"),
        ("payments.capture", "Outbound", "Info"),
        ("webhook.payment_captured", "Inbound", "Info"),
        ("payments.refund", "Outbound", "Info"),
        ("webhook.payment_refunded", "Inbound", "Info"),
    ]
    assert all(row["Payment__c"] == payment["Id"] for row in logs)
    assert_no_duplicates(
        sim,
        {
            "CKO_Payment__c": "CKO_Payment_Id__c",
            "CKO_Payment_Action__c": "CKO_Action_Id__c",
            "CKO_Integration_Log__c": "CKO_Log_Id__c",
        },
    )
    assert view["salesforce"]["synced_version"] == view["salesforce"]["version"]
    assert view["salesforce"]["last_error"] is None
    # Trickle: one Composite request per sync, and one sync per event.
    print(f"\ntrickle (custom): {sim.api_calls} API calls for {events} events")  # noqa: T201 - the figure the issue asks for
    assert sim.api_calls == events
    assert sim.token_calls == 1


async def test_commerce_profile_holds_exactly_the_expected_records(
    pg_url: str, checkout_sim: CheckoutSimulator
) -> None:
    sim = SalesforceSimulator()
    async with salesforce_env(pg_url, sim, checkout_sim, profile="commerce") as env:
        pid, capture_id, refund_id, events = await lifecycle(env)
        view = (await env.http.get(f"/v1/payments/{pid}")).json()

    # The payments platform owns these (gateway adapter); paybridge never writes them.
    for owned in ("PaymentAuthorization", "Payment", "Refund", "PaymentGatewayLog"):
        assert not sim.records.get(owned), owned
    logs = list(sim.records["CKO_Integration_Log__c"].values())
    assert len(logs) == 5
    assert sorted(row["Direction__c"] for row in logs) == [
        "Inbound",
        "Inbound",
        "Outbound",
        "Outbound",
        "Outbound",
    ]
    assert all("Payment__c" not in row for row in logs)  # no CKO_Payment__c to point at
    assert {row["CKO_Action_Id__c"] for row in logs} >= {capture_id, refund_id}
    assert sim.records["Order"][ORDER_ID]["CKO_Payment_Status__c"] == "Partially Refunded"
    assert sim.records["CKO_Payment__c"] == {}
    assert sim.records["CKO_Payment_Action__c"] == {}
    assert view["salesforce"]["synced_version"] == view["salesforce"]["version"]
    print(f"\ntrickle (commerce): {sim.api_calls} API calls for {events} events")  # noqa: T201 - the figure the issue asks for
    assert sim.api_calls == events
