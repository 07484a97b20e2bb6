"""SalesforceClient request and response shapes, checked with respx against reference bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from paybridge.adapters.http import RetryPolicy
from paybridge.adapters.salesforce.auth import ClientCredentialsFlow, TokenProvider
from paybridge.adapters.salesforce.client import SalesforceClient, parse_api_usage
from paybridge.adapters.salesforce.errors import (
    SalesforceAuthError,
    SalesforceMultipleMatches,
    SalesforcePermanentError,
    SalesforceRateLimited,
    SalesforceUnavailable,
)
from paybridge.adapters.salesforce.models import (
    CompositeSubrequest,
    collection_update_record,
    encode_json,
    record_subrequests,
)
from paybridge.mapping.salesforce_records import SalesforceRecord

INSTANCE = "https://acme.my.salesforce.com"
TOKEN_URL = f"{INSTANCE}/services/oauth2/token"
DATA = f"{INSTANCE}/services/data/v66.0"
FIXTURES = Path(__file__).resolve().parents[2] / "reference/salesforce/restforce"


def fixture(name: str) -> Any:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"reference fixture {path} is not available")
    return json.loads(path.read_text())


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        mock.post(TOKEN_URL).respond(200, json=fixture("auth_success_response.json"))
        yield mock


@pytest.fixture
def client(http: httpx.AsyncClient, router: respx.MockRouter) -> SalesforceClient:
    flow = ClientCredentialsFlow(client_id="3MVG9-client", client_secret="s3cret")
    return SalesforceClient(
        http,
        instance_url=INSTANCE,
        api_version="66.0",
        token_provider=TokenProvider(http, token_url=TOKEN_URL, flow=flow),
        retry_policy=RetryPolicy.immediate(3),
    )


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content, parse_float=Decimal)


async def test_upsert_created_sends_patch_by_external_id_with_exact_amounts(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    route = router.patch(f"{DATA}/sobjects/CKO_Payment__c/CKO_Payment_Id__c/pay_abc").respond(
        201, json=fixture("upsert_created_success_response.json")
    )

    result = await client.upsert(
        "CKO_Payment__c",
        "CKO_Payment_Id__c",
        "pay_abc",
        {"CKO_Payment_Id__c": "pay_abc", "Amount__c": Decimal("149.90"), "Status__c": "Captured"},
    )

    assert (result.id, result.success, result.created) == ("foo", True, True)
    request = route.calls.last.request
    assert request.headers["Authorization"].startswith("Bearer 00Dx0000000BV7z!")
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == b'{"Amount__c":149.90,"Status__c":"Captured"}'


async def test_upsert_updated_reads_created_false(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    router.patch(f"{DATA}/sobjects/Payment/CKO_Action_Id__c/act_1").respond(
        200, json={"id": "0XtXX0000000001", "success": True, "errors": [], "created": False}
    )
    router.patch(f"{DATA}/sobjects/Payment/CKO_Action_Id__c/act_2").respond(204)

    updated = await client.upsert("Payment", "CKO_Action_Id__c", "act_1", {"Amount": 1})
    older_api = await client.upsert("Payment", "CKO_Action_Id__c", "act_2", {"Amount": 1})

    assert (updated.id, updated.created) == ("0XtXX0000000001", False)
    assert older_api.created is False


async def test_external_id_values_are_url_quoted(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    route = router.patch(url__startswith=f"{DATA}/sobjects/Case/").respond(201, json={"id": "5"})

    await client.upsert("Case", "CKO_Dispute_Id__c", "dsp/1 x.inc", {})

    assert route.calls.last.request.url.raw_path.decode().endswith(
        "/sobjects/Case/CKO_Dispute_Id__c/dsp%2F1%20x.inc"
    )


async def test_several_matches_raise_with_the_record_urls(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    body = fixture("upsert_multiple_error_response.json")
    router.patch(url__startswith=f"{DATA}/sobjects/").respond(300, json=body)

    with pytest.raises(SalesforceMultipleMatches) as caught:
        await client.upsert("Whizbang", "External_Field__c", "dup", {"Name": "x"})

    assert caught.value.urls == body
    assert caught.value.code == "salesforce_multiple_matches"


@pytest.mark.parametrize(
    ("status", "name", "error_code", "fields"),
    [
        (404, "upsert_error_response.json", "NOT_FOUND", []),
        (400, "write_error_response.json", "INVALID_FIELD", []),
        (400, "composite_sobjects_destroy_bad_request_response.json", "REQUIRED_FIELD_MISSING", []),
    ],
)
async def test_error_arrays_become_permanent_errors(
    client: SalesforceClient,
    router: respx.MockRouter,
    status: int,
    name: str,
    error_code: str,
    fields: list[str],
) -> None:
    route = router.patch(url__startswith=f"{DATA}/").respond(status, json=fixture(name))

    with pytest.raises(SalesforcePermanentError) as caught:
        await client.update("Order", "8015g00000AbCdEAAV", {"Bad": 1})

    assert caught.value.error_code == error_code
    assert caught.value.fields == fields
    assert caught.value.status_code == status
    assert route.call_count == 1  # never retried


async def test_a_picklist_error_names_its_field(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    body = [
        {
            "message": "Status: bad value for restricted picklist field: Captured",
            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "fields": ["Status"],
        }
    ]
    router.patch(url__startswith=f"{DATA}/").respond(400, json=body)

    with pytest.raises(SalesforcePermanentError) as caught:
        await client.update("Payment", "0XtXX0000000001", {"Status": "Captured"})

    assert caught.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert caught.value.fields == ["Status"]
    assert "bad value for restricted picklist" in caught.value.message


async def test_request_limit_exceeded_is_rate_limited_and_not_retried(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    route = router.patch(url__startswith=f"{DATA}/").respond(403, json=body)

    with pytest.raises(SalesforceRateLimited) as caught:
        await client.update("Order", "8015g00000AbCdEAAV", {})

    assert caught.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert route.call_count == 1


async def test_unable_to_lock_row_is_retried(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    locked = [{"message": "unable to obtain exclusive access", "errorCode": "UNABLE_TO_LOCK_ROW"}]
    route = router.patch(url__startswith=f"{DATA}/").mock(
        side_effect=[httpx.Response(400, json=locked), httpx.Response(204)]
    )

    await client.update("Order", "8015g00000AbCdEAAV", {"CKO_Payment_Status__c": "Captured"})

    assert route.call_count == 2
    assert client.api_calls == 2


async def test_timeouts_are_retried_and_persistent_5xx_gives_up(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    flaky = router.patch(f"{DATA}/sobjects/Order/801A").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(204)]
    )
    down = router.patch(f"{DATA}/sobjects/Order/801B").respond(
        503, json=[{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}]
    )

    await client.update("Order", "801A", {})
    with pytest.raises(SalesforceUnavailable) as caught:
        await client.update("Order", "801B", {})

    assert flaky.call_count == 2
    assert down.call_count == 3  # the policy's attempt cap
    assert caught.value.status_code == 503


async def test_a_401_refreshes_the_token_once_and_retries_once(
    http: httpx.AsyncClient, client: SalesforceClient, router: respx.MockRouter
) -> None:
    token_route = router.post(TOKEN_URL).mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "old"}),
            httpx.Response(200, json={"access_token": "new"}),
            httpx.Response(200, json={"access_token": "newer"}),
        ]
    )
    expired = fixture("expired_session_response.json")
    route = router.patch(f"{DATA}/sobjects/Order/801A").mock(
        side_effect=[httpx.Response(401, json=expired), httpx.Response(204)]
    )
    never = router.patch(f"{DATA}/sobjects/Order/801B").respond(401, json=expired)

    await client.update("Order", "801A", {})
    with pytest.raises(SalesforceAuthError):
        await client.update("Order", "801B", {})

    auth_headers = [call.request.headers["Authorization"] for call in route.calls]
    assert auth_headers == ["Bearer old", "Bearer new"]
    assert never.call_count == 2  # once, then once more after the refresh: no loop
    assert token_route.call_count == 3


async def test_sforce_limit_info_is_read_from_every_response(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    router.patch(f"{DATA}/sobjects/Order/801A").respond(
        204, headers={"Sforce-Limit-Info": "api-usage=10018/100000"}
    )
    router.patch(f"{DATA}/sobjects/Order/801B").respond(
        400,
        json=fixture("write_error_response.json"),
        headers={"Sforce-Limit-Info": "api-usage=10019/100000"},
    )

    assert client.last_api_usage is None
    await client.update("Order", "801A", {})
    assert client.last_api_usage == (10018, 100000)
    with pytest.raises(SalesforcePermanentError):
        await client.update("Order", "801B", {})
    assert client.last_api_usage == (10019, 100000)
    assert client.api_calls == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("api-usage=18/15000", (18, 15000)),
        ("api-usage=25/5000; api-bursts=1/750", (25, 5000)),
        ("per-app-api-usage=17/250(appName=sample-app); api-usage=40/100000", (40, 100000)),
        ("per-app-api-usage=17/250(appName=sample-app)", None),
        (None, None),
    ],
)
def test_parse_api_usage(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_api_usage(header) == expected


def _records() -> list[SalesforceRecord]:
    return [
        SalesforceRecord(
            "CKO_Payment__c", "external_id", "CKO_Payment_Id__c", "pay_abc", {"Amount__c": 1}
        ),
        SalesforceRecord(
            "CKO_Payment_Action__c",
            "external_id",
            "CKO_Action_Id__c",
            "act_1",
            {"Payment__r": {"CKO_Payment_Id__c": "pay_abc"}, "Status__c": "Bogus"},
        ),
        SalesforceRecord("Order", "record_id", None, "8015g00000AbCdEAAV", {"X__c": True}),
    ]


def test_records_become_patch_subrequests_in_order() -> None:
    subrequests = record_subrequests(_records(), api_version="66.0")

    assert [item.to_wire() for item in subrequests] == [
        {
            "method": "PATCH",
            "url": "/services/data/v66.0/sobjects/CKO_Payment__c/CKO_Payment_Id__c/pay_abc",
            "referenceId": "r0",
            "body": {"Amount__c": 1},
        },
        {
            "method": "PATCH",
            "url": "/services/data/v66.0/sobjects/CKO_Payment_Action__c/CKO_Action_Id__c/act_1",
            "referenceId": "r1",
            "body": {"Payment__r": {"CKO_Payment_Id__c": "pay_abc"}, "Status__c": "Bogus"},
        },
        {
            "method": "PATCH",
            "url": "/services/data/v66.0/sobjects/Order/8015g00000AbCdEAAV",
            "referenceId": "r2",
            "body": {"X__c": True},
        },
    ]


async def test_composite_reports_each_subrequest_inside_a_200(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    envelope = {
        "compositeResponse": [
            {
                "body": {"id": "a01XX0000000001", "success": True, "errors": [], "created": True},
                "httpHeaders": {"Location": "/services/data/v66.0/sobjects/CKO_Payment__c/a01"},
                "httpStatusCode": 201,
                "referenceId": "r0",
            },
            {
                "body": [
                    {
                        "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        "message": "Status: bad value for restricted picklist field: Bogus",
                        "fields": ["Status__c"],
                    }
                ],
                "httpHeaders": {},
                "httpStatusCode": 400,
                "referenceId": "r1",
            },
            {"body": None, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "r2"},
        ]
    }
    route = router.post(f"{DATA}/composite").respond(200, json=envelope)

    results = await client.composite_records(_records(), all_or_none=False)

    sent = sent_json(route)
    assert sent["allOrNone"] is False
    assert sent["collateSubrequests"] is False
    assert [item["referenceId"] for item in sent["compositeRequest"]] == ["r0", "r1", "r2"]
    assert [result.ok for result in results] == [True, False, True]
    assert results[0].body["created"] is True
    assert results[1].errors[0].error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert results[1].errors[0].fields == ["Status__c"]
    assert client.api_calls == 1


async def test_composite_refuses_more_than_25_subrequests_before_calling(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{DATA}/composite")
    subrequests = [
        CompositeSubrequest(method="GET", url=f"/x/{n}", reference_id=f"r{n}") for n in range(26)
    ]

    with pytest.raises(ValueError, match="25"):
        await client.composite(subrequests, all_or_none=True)

    assert route.call_count == 0


async def test_collections_upsert_sends_typed_records_and_reads_each_result(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    body = [
        *fixture("composite_sobjects_success_response.json"),
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "UNABLE_TO_LOCK_ROW",
                    "message": "unable to obtain exclusive access to this record",
                    "fields": [],
                }
            ],
        },
    ]
    route = router.patch(f"{DATA}/composite/sobjects/Payment/CKO_Action_Id__c").respond(
        200, json=body
    )

    results = await client.collections_upsert(
        "Payment",
        "CKO_Action_Id__c",
        [
            {"CKO_Action_Id__c": "act_1", "Amount": Decimal("10.00")},
            {"attributes": {"type": "Payment"}, "CKO_Action_Id__c": "act_2", "Amount": 5},
        ],
        all_or_none=False,
    )

    assert sent_json(route) == {
        "allOrNone": False,
        "records": [
            {
                "CKO_Action_Id__c": "act_1",
                "Amount": Decimal("10.00"),
                "attributes": {"type": "Payment"},
            },
            {"attributes": {"type": "Payment"}, "CKO_Action_Id__c": "act_2", "Amount": 5},
        ],
    }
    assert (results[0].id, results[0].success) == ("some_id", True)
    assert results[1].success is False
    assert results[1].errors[0].error_code == "UNABLE_TO_LOCK_ROW"


async def test_collections_upsert_enforces_200_records_of_one_type(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    route = router.patch(url__startswith=f"{DATA}/composite/sobjects/")
    too_many = [{"CKO_Action_Id__c": f"act_{n}"} for n in range(201)]
    mixed = [{"attributes": {"type": "Refund"}, "CKO_Action_Id__c": "act_1"}]

    with pytest.raises(ValueError, match="200"):
        await client.collections_upsert("Payment", "CKO_Action_Id__c", too_many)
    with pytest.raises(ValueError, match="Refund"):
        await client.collections_upsert("Payment", "CKO_Action_Id__c", mixed)

    assert route.call_count == 0


async def test_versions_describe_and_limits(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    router.get(f"{INSTANCE}/services/data/").respond(
        200, json=fixture("services_data_success_response.json")
    )
    router.get(f"{DATA}/sobjects/Whizbang/describe").respond(
        200, json=fixture("sobject_describe_success_response.json")
    )
    router.get(f"{DATA}/sobjects/Payment/describe").respond(
        404, json=fixture("sobject_describe_error_response.json")
    )
    router.get(f"{DATA}/limits").respond(
        200, json={"DailyApiRequests": {"Max": 15000, "Remaining": 14990}, "Other": 3}
    )

    versions = await client.versions()
    describe = await client.describe("Whizbang")
    with pytest.raises(SalesforcePermanentError) as caught:
        await client.describe("Payment")
    limits = await client.limits()

    assert [item.version for item in versions] == ["20.0", "100"]
    assert describe.name == "Whizbang"
    id_field = describe.field("Id")
    assert id_field is not None
    assert (id_field.type, id_field.external_id) == ("id", False)
    assert caught.value.error_code == "NOT_FOUND"
    assert limits["DailyApiRequests"].remaining == 14990
    assert set(limits) == {"DailyApiRequests"}


async def test_collections_update_patches_records_by_id_and_reads_each_result(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    route = router.patch(f"{DATA}/composite/sobjects").respond(
        200,
        json=[
            {"id": "8015g00000AbCdEAAV", "success": True, "errors": []},
            {
                "id": "8015g00000AbCdFAAV",
                "success": False,
                "errors": [
                    {
                        "statusCode": "ENTITY_IS_DELETED",
                        "message": "entity is deleted",
                        "fields": [],
                    }
                ],
            },
        ],
    )
    order = SalesforceRecord(
        sobject="Order",
        key_kind="record_id",
        key_field=None,
        key_value="8015g00000AbCdEAAV",
        fields={"CKO_Amount_Captured__c": Decimal("149.90")},
    )

    results = await client.collections_update(
        [
            collection_update_record(order),
            {"attributes": {"type": "Order"}, "id": "8015g00000AbCdFAAV", "Status": "Draft"},
        ]
    )

    assert sent_json(route) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Order"},
                "id": "8015g00000AbCdEAAV",
                "CKO_Amount_Captured__c": Decimal("149.90"),
            },
            {"attributes": {"type": "Order"}, "id": "8015g00000AbCdFAAV", "Status": "Draft"},
        ],
    }
    assert [result.success for result in results] == [True, False]
    assert results[1].errors[0].error_code == "ENTITY_IS_DELETED"
    assert client.api_calls == 1


async def test_collections_update_refuses_untyped_records_and_more_than_200(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    route = router.patch(f"{DATA}/composite/sobjects")
    typed = {"attributes": {"type": "Order"}, "id": "8015g00000AbCdEAAV"}

    with pytest.raises(ValueError, match="200"):
        await client.collections_update([typed] * 201)
    with pytest.raises(ValueError, match=r"attributes\.type"):
        await client.collections_update([{"id": "8015g00000AbCdEAAV"}])
    with pytest.raises(ValueError, match="record `id`"):
        await client.collections_update([{"attributes": {"type": "Order"}}])

    assert route.call_count == 0


async def test_query_sends_the_soql_and_follows_next_records_url(
    client: SalesforceClient, router: respx.MockRouter
) -> None:
    soql = "SELECT Id FROM RecordType WHERE SobjectType = 'Case' AND DeveloperName = 'X'"
    first = router.get(f"{DATA}/query", params={"q": soql}).respond(
        200, json=fixture("query_paginated_first_page_response.json")
    )
    last = router.get(f"{INSTANCE}/services/data/v26.0/query/01gD").respond(
        200, json=fixture("query_paginated_last_page_response.json")
    )

    records = await client.query(soql)

    assert [record["Text_Label"] for record in records] == ["First Page", "Last Page"]
    request = first.calls.last.request
    assert request.url.params["q"] == soql
    assert request.headers["Authorization"].startswith("Bearer ")
    assert last.call_count == 1


def test_bodies_are_compact_json_with_exact_decimals_and_text_as_given() -> None:
    body = {
        "Amount__c": Decimal("149.90"),
        "Refunded__c": Decimal("-0.01"),
        "Name": 'Café "Zürich"\n\u2028',
        "Käse": None,
        "Disputed__c": False,
        "Version__c": 2,
        "Records": [{"Rate__c": 1.5}, True],
    }
    encoded = encode_json(body)

    assert (
        encoded
        == (
            '{"Amount__c":149.90,"Refunded__c":-0.01,'
            '"Name":"Café \\"Zürich\\"\\n\u2028","K\\u00e4se":null,'
            '"Disputed__c":false,"Version__c":2,"Records":[{"Rate__c":1.5},true]}'
        ).encode()
    )
    assert json.loads(encoded) == {**body, "Amount__c": 149.9, "Refunded__c": -0.01}
    for impossible in (Decimal("NaN"), float("inf")):
        with pytest.raises(ValueError, match=r"non-finite|Out of range"):
            encode_json({"Amount__c": impossible})
