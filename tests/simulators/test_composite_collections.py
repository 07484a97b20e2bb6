"""Collections inside Composite requests, against the simulator, which refuses what an org would.

Limits (Salesforce REST API guide, "Send Multiple Requests Using Composite",
https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html):
"up to 25 subrequests in a single call. Up to 5 of these subrequests can be sObject Collections
or query operations"; "the entire series of requests counts as a single call toward your API
limits". sObject Collections take up to 200 records
(resources-composite-sobjects-collections-upsert).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from paybridge.adapters.http import RetryPolicy
from paybridge.adapters.salesforce.auth import ClientCredentialsFlow, TokenProvider
from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.composite_collections import (
    COMPOSITE_MAX_BYTES,
    CollectionCall,
    pack,
)
from paybridge.adapters.salesforce.errors import SalesforcePermanentError
from paybridge.adapters.salesforce.models import CompositeSubrequest, collection_record
from paybridge.mapping.salesforce_records import SalesforceRecord
from tests.simulators.salesforce import SalesforceSimulator


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


@pytest.fixture
async def client(sim: SalesforceSimulator) -> AsyncIterator[SalesforceClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.instance_url) as http:
        flow = ClientCredentialsFlow(sim.client_id, sim.client_secret)
        yield SalesforceClient(
            http,
            instance_url=sim.instance_url,
            api_version=sim.api_version,
            token_provider=TokenProvider.for_instance(http, sim.instance_url, flow),
            retry_policy=RetryPolicy.immediate(3),
        )


def payments(first: int, count: int, **fields: object) -> CollectionCall:
    records = [
        collection_record(
            SalesforceRecord(
                "CKO_Payment__c", "external_id", "CKO_Payment_Id__c", f"pay_{n}", dict(fields)
            )
        )
        for n in range(first, first + count)
    ]
    return CollectionCall("CKO_Payment__c", "CKO_Payment_Id__c", records)


def actions(payment_ids: range) -> CollectionCall:
    records = [
        collection_record(
            SalesforceRecord(
                "CKO_Payment_Action__c",
                "external_id",
                "CKO_Action_Id__c",
                f"act_{n}",
                {"Payment__r": {"CKO_Payment_Id__c": f"pay_{n}"}},
            )
        )
        for n in payment_ids
    ]
    return CollectionCall("CKO_Payment_Action__c", "CKO_Action_Id__c", records)


def raw_upsert(sim: SalesforceSimulator, n: int, records: list[Any]) -> CompositeSubrequest:
    """A payments collections subrequest built by hand, past the client's own checks."""
    path = "composite/sobjects/CKO_Payment__c/CKO_Payment_Id__c"
    return CompositeSubrequest(
        method="PATCH",
        url=f"/services/data/v{sim.api_version}/{path}",
        reference_id=f"c{n}",
        body={"allOrNone": False, "records": records},
    )


async def test_five_collections_of_200_are_one_api_call_and_children_follow_parents(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    calls = [payments(0, 200), payments(200, 200), payments(400, 200), actions(range(200))]
    calls.append(actions(range(200, 400)))

    results = await client.composite_collections(calls)

    assert sim.api_calls == 1
    assert [result.http_status_code for result in results] == [200] * 5
    assert len(sim.records["CKO_Payment__c"]) == 600
    assert len(sim.records["CKO_Payment_Action__c"]) == 400  # their parents existed in time


async def test_a_bad_record_fails_alone_inside_its_collection_and_the_composite(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    sim.restricted_picklists[("CKO_Payment__c", "Status__c")] = {"Captured"}
    good = payments(0, 3, Status__c="Captured")
    bad = CollectionCall(
        "CKO_Payment__c",
        "CKO_Payment_Id__c",
        [*good.records[:1], {**payments(9, 1).records[0], "Status__c": "Bogus"}],
    )

    results = await client.composite_collections([bad, actions(range(3))])

    (first, second) = results
    assert [item["success"] for item in first.body] == [True, False]
    assert first.body[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sim.get("CKO_Payment__c", "CKO_Payment_Id__c", "pay_9") is None
    # pay_1 and pay_2 were never sent: their actions fail on the lookup, act_0 is written.
    assert [item["success"] for item in second.body] == [True, False, False]
    assert sim.api_calls == 1


async def test_the_simulator_refuses_a_sixth_collection_in_one_composite(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    subrequests = [raw_upsert(sim, n, list(payments(n, 1).records)) for n in range(6)]

    with pytest.raises(SalesforcePermanentError, match="LIMIT_EXCEEDED"):
        await client.composite(subrequests, all_or_none=False)

    assert sim.records["CKO_Payment__c"] == {}
    with pytest.raises(ValueError, match="at most 5"):
        await client.composite_collections([payments(n, 1) for n in range(6)])


async def test_the_simulator_refuses_a_collection_of_201_records_inside_a_composite(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    records = list(payments(0, 201).records)
    (result,) = await client.composite([raw_upsert(sim, 0, records)], all_or_none=False)

    assert result.http_status_code == 400
    assert result.errors[0].error_code == "EXCEEDED_ID_LIMIT"
    assert sim.records["CKO_Payment__c"] == {}
    with pytest.raises(ValueError, match="200"):
        CollectionCall("CKO_Payment__c", "CKO_Payment_Id__c", records).subrequest(
            api_version="66.0", reference_id="c0"
        )


async def test_the_simulator_refuses_a_request_over_the_size_budget(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    huge = "x" * (COMPOSITE_MAX_BYTES // 5)
    calls = [payments(n * 10, 10, Reference__c=huge[: len(huge) // 10]) for n in range(5)]
    subrequests = [
        raw_upsert(sim, n, [*call.records, *call.records]) for n, call in enumerate(calls)
    ]

    with pytest.raises(SalesforcePermanentError, match="REQUEST_ENTITY_TOO_LARGE"):
        await client.composite(subrequests, all_or_none=False)

    assert sim.records["CKO_Payment__c"] == {}


def test_packing_keeps_order_and_every_limit() -> None:
    calls = [payments(n * 200, 200) for n in range(12)]

    packed = pack(calls, api_version="66.0")

    assert packed == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11]]
    largest = max(call.size(api_version="66.0") for call in calls)
    small = pack(calls, api_version="66.0", max_bytes=largest * 2 + 200)
    assert [len(group) for group in small] == [2] * 6
    assert [index for group in small for index in group] == list(range(12))
    with pytest.raises(ValueError, match="kept under"):
        pack(calls[:1], api_version="66.0", max_bytes=1000)
