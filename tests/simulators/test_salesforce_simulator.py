"""SalesforceClient against the Salesforce simulator: writes, limits, faults and call counting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from paybridge.adapters.http import RetryPolicy
from paybridge.adapters.salesforce.auth import ClientCredentialsFlow, TokenProvider
from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.errors import (
    SalesforceAuthError,
    SalesforceMultipleMatches,
    SalesforcePermanentError,
    SalesforceRateLimited,
    SalesforceUnavailable,
)
from paybridge.adapters.salesforce.models import collection_record
from paybridge.mapping.salesforce_fields import load_salesforce_mapping
from paybridge.mapping.salesforce_records import (
    ActionSnapshot,
    PaymentSnapshot,
    SalesforceRecord,
    payment_records,
)
from tests.simulators.salesforce import SalesforceSimulator

CREATED = datetime(2026, 3, 1, 9, 15, tzinfo=UTC)


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


@pytest.fixture
async def http(sim: SalesforceSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.instance_url) as client:
        yield client


def _client(
    sim: SalesforceSimulator, http: httpx.AsyncClient, *, secret: str | None = None
) -> SalesforceClient:
    flow = ClientCredentialsFlow(sim.client_id, secret or sim.client_secret)
    return SalesforceClient(
        http,
        instance_url=sim.instance_url,
        api_version=sim.api_version,
        token_provider=TokenProvider.for_instance(http, sim.instance_url, flow),
        retry_policy=RetryPolicy.immediate(3),
    )


@pytest.fixture
def client(sim: SalesforceSimulator, http: httpx.AsyncClient) -> SalesforceClient:
    return _client(sim, http)


def _payment(order_id: str | None) -> PaymentSnapshot:
    return PaymentSnapshot(
        id="p-1",
        checkout_payment_id="pay_abc",
        order_id=order_id,
        account_id="0015g00000XyZaBAAV",
        reference="00000100",
        currency="EUR",
        amount_minor=14990,
        authorized_minor=14990,
        captured_minor=14990,
        status="Captured",
        created_at=CREATED,
    )


ACTIONS = [
    ActionSnapshot(checkout_action_id="act_1", type="authorization", status="Succeeded"),
    ActionSnapshot(
        checkout_action_id="act_2", type="capture", status="Succeeded", amount_minor=14990
    ),
]


async def test_a_payment_is_written_in_one_composite_call_with_its_relationships(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    order_id = sim.seed("Order", {"OrderNumber": "00000100"})
    records = payment_records(
        load_salesforce_mapping().profile("custom"), _payment(order_id), ACTIONS
    )

    results = await client.composite_records(records, all_or_none=True)

    assert [result.http_status_code for result in results] == [201, 201, 201, 204]
    payment = sim.get("CKO_Payment__c", "CKO_Payment_Id__c", "pay_abc")
    assert payment is not None
    assert payment["Amount__c"] == Decimal("149.90")
    capture = sim.get("CKO_Payment_Action__c", "CKO_Action_Id__c", "act_2")
    assert capture is not None
    assert capture["Payment__c"] == payment["Id"]
    assert sim.records["Order"][order_id]["CKO_Payment_Status__c"] == "Captured"
    assert (sim.api_calls, sim.token_calls, client.api_calls) == (1, 1, 1)
    assert client.last_api_usage == (1, sim.api_limit)

    again = await client.composite_records(records, all_or_none=True)

    assert [result.http_status_code for result in again] == [200, 200, 200, 204]
    assert len(sim.records["CKO_Payment_Action__c"]) == 2
    assert sim.api_calls == 2


async def test_commerce_records_leave_the_platforms_payment_objects_alone(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    records = payment_records(
        load_salesforce_mapping().profile("commerce"), _payment(None), ACTIONS
    )

    results = await client.composite_records(records, all_or_none=False)

    assert all(result.ok for result in results)
    assert {record.sobject for record in records} <= {"Order"}
    for platform_owned in ("PaymentAuthorization", "Payment", "Refund", "PaymentGatewayLog"):
        assert not sim.records.get(platform_owned)


async def test_all_or_none_rolls_back_on_a_restricted_picklist_value(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    sim.restricted_picklists[("CKO_Payment_Action__c", "Type__c")] = {"Capture", "Refund"}
    records = payment_records(load_salesforce_mapping().profile("custom"), _payment(None), ACTIONS)

    results = await client.composite_records(records, all_or_none=True)

    codes = [result.errors[0].error_code if result.errors else None for result in results]
    assert codes == [
        "PROCESSING_HALTED",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "PROCESSING_HALTED",
    ]
    assert results[1].errors[0].fields == ["Type__c"]
    assert sim.records["CKO_Payment__c"] == {}


async def test_without_all_or_none_the_valid_subrequests_stay_written(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    records = [
        SalesforceRecord("CKO_Payment__c", "external_id", "CKO_Payment_Id__c", "pay_1", {}),
        SalesforceRecord(
            "CKO_Payment__c", "external_id", "CKO_Payment_Id__c", "pay_2", {"No__c": 1}
        ),
        SalesforceRecord("Order", "record_id", None, "801000000000000AAA", {}),
    ]

    results = await client.composite_records(records, all_or_none=False)

    assert [result.http_status_code for result in results] == [201, 400, 404]
    assert results[1].errors[0].error_code == "INVALID_FIELD"
    assert results[2].errors[0].error_code == "NOT_FOUND"
    assert sim.get("CKO_Payment__c", "CKO_Payment_Id__c", "pay_1") is not None


async def test_the_simulator_enforces_25_subrequests_and_200_records(
    sim: SalesforceSimulator, http: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {sim.issue_token()}"}
    base = f"/services/data/v{sim.api_version}"
    composite = {
        "allOrNone": False,
        "compositeRequest": [
            {"method": "GET", "url": f"{base}/limits", "referenceId": f"r{n}"} for n in range(26)
        ],
    }
    records = [
        {"attributes": {"type": "CKO_Payment_Action__c"}, "CKO_Action_Id__c": f"act_{n}"}
        for n in range(201)
    ]
    mixed = [{"attributes": {"type": "CKO_Integration_Log__c"}, "CKO_Action_Id__c": "act_1"}]
    collections = f"{base}/composite/sobjects/CKO_Payment_Action__c/CKO_Action_Id__c"

    too_many_subrequests = await http.post(f"{base}/composite", json=composite, headers=headers)
    too_many_records = await http.patch(collections, json={"records": records}, headers=headers)
    mixed_types = await http.patch(collections, json={"records": mixed}, headers=headers)

    assert too_many_subrequests.status_code == 400
    assert too_many_records.status_code == 400
    assert too_many_records.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert mixed_types.status_code == 400
    assert not sim.records.get("CKO_Payment_Action__c")


async def test_collections_upsert_counts_one_call_and_reports_each_record(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    records = [
        collection_record(
            SalesforceRecord(
                "CKO_Payment_Action__c",
                "external_id",
                "CKO_Action_Id__c",
                f"act_{n}",
                {"Amount__c": n},
            )
        )
        for n in range(150)
    ]
    sim.lock_rows_next(1)

    results = await client.collections_upsert("CKO_Payment_Action__c", "CKO_Action_Id__c", records)

    assert results[0].success is False
    assert results[0].errors[0].error_code == "UNABLE_TO_LOCK_ROW"
    assert all(result.success and result.created for result in results[1:])
    assert len(sim.records["CKO_Payment_Action__c"]) == 149
    assert sim.api_calls == 1


async def test_a_duplicate_external_id_answers_300(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    sim.seed("CKO_Payment__c", {"CKO_Payment_Id__c": "pay_dup"})
    sim.seed("CKO_Payment__c", {"CKO_Payment_Id__c": "pay_dup"})

    with pytest.raises(SalesforceMultipleMatches) as caught:
        await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_dup", {"Market__c": "x"})

    assert len(caught.value.urls) == 2
    assert all(
        url.startswith("/services/data/v66.0/sobjects/CKO_Payment__c/") for url in caught.value.urls
    )


async def test_the_daily_allocation_is_enforced_and_reported(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    sim.api_limit = 2
    await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_1", {})
    await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_2", {})

    with pytest.raises(SalesforceRateLimited):
        await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_3", {})

    assert client.last_api_usage == (2, 2)
    assert sim.api_calls == 2


async def test_request_limit_mode_refuses_every_call(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    sim.request_limit_exceeded = True

    with pytest.raises(SalesforceRateLimited):
        await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_1", {})

    assert client.api_calls == 1  # not retried


async def test_an_expired_token_is_refreshed_transparently(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_1", {})
    sim.expire_tokens()

    result = await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_1", {})

    assert result.created is False
    assert sim.token_calls == 2
    assert sim.api_calls == 2  # the 401 is not counted


async def test_wrong_credentials_are_an_auth_error(
    sim: SalesforceSimulator, http: httpx.AsyncClient
) -> None:
    with pytest.raises(SalesforceAuthError):
        await _client(sim, http, secret="wrong").versions()


async def test_transient_503s_are_retried_until_the_policy_gives_up(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    sim.fail_next(2)
    result = await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_1", {})
    sim.fail_next(3)

    with pytest.raises(SalesforceUnavailable):
        await client.upsert("CKO_Payment__c", "CKO_Payment_Id__c", "pay_2", {})

    assert result.created is True
    assert sim.api_calls == 6


async def test_describe_reflects_the_mapping_and_unknown_objects_are_not_found(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    sim.restricted_picklists[("CKO_Payment__c", "Status__c")] = {"Pending", "Captured"}

    described = await client.describe("CKO_Payment__c")
    with pytest.raises(SalesforcePermanentError) as caught:
        await client.describe("Invoice__c")
    versions = await client.versions()

    key = described.field("CKO_Payment_Id__c")
    status = described.field("Status__c")
    assert key is not None
    assert key.external_id is True
    assert status is not None
    assert status.restricted_picklist is True
    assert [value.value for value in status.picklist_values] == ["Captured", "Pending"]
    assert caught.value.error_code == "NOT_FOUND"
    assert sim.api_version in [item.version for item in versions]
