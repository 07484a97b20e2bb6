"""The OpenAPI document integrators and generators read: stable operation ids, descriptions,
declared tags, security schemes that match what the service checks, valid examples."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from paybridge.api.deps import parse_json_object, refuse_card_data
from paybridge.app import BODY_MODELS
from paybridge.domain.evidence import EvidenceFileType
from paybridge.schemas.errors import ErrorEnvelope
from tests.conftest import API_KEY

OPERATION_IDS = {
    ("post", "/v1/payments"): "createPayment",
    ("get", "/v1/payments"): "listPayments",
    ("get", "/v1/payments/{payment_id}"): "getPayment",
    ("post", "/v1/payment-links"): "createPaymentLink",
    ("get", "/v1/payment-links"): "listPaymentLinks",
    ("get", "/v1/payment-links/{link_id}"): "getPaymentLink",
    ("post", "/v1/payments/{payment_id}/captures"): "capturePayment",
    ("post", "/v1/payments/{payment_id}/voids"): "voidPayment",
    ("post", "/v1/payments/{payment_id}/refunds"): "refundPayment",
    ("get", "/v1/disputes"): "listDisputes",
    ("get", "/v1/disputes/{dispute_id}"): "getDispute",
    ("post", "/v1/disputes/{dispute_id}/accept"): "acceptDispute",
    ("put", "/v1/disputes/{dispute_id}/evidence"): "saveDisputeEvidence",
    ("post", "/v1/disputes/{dispute_id}/files"): "uploadDisputeEvidenceFile",
    ("post", "/v1/disputes/{dispute_id}/evidence/submit"): "submitDisputeEvidence",
    ("post", "/v1/webhooks/checkout"): "receiveCheckoutWebhook",
    ("get", "/healthz"): "getLiveness",
    ("get", "/readyz"): "getReadiness",
    ("get", "/metrics"): "getMetrics",
}


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


@pytest.fixture
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def test_every_operation_has_its_stable_id(spec: dict[str, Any]) -> None:
    ids = {key: op["operationId"] for key, op in _operations(spec).items()}
    assert ids == OPERATION_IDS


def test_every_operation_is_described_under_a_declared_tag(spec: dict[str, Any]) -> None:
    declared = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    assert all(declared.values())
    for key, operation in _operations(spec).items():
        assert operation.get("description"), key
        assert operation.get("summary"), key
        assert set(operation["tags"]) <= set(declared), key
    assert spec["servers"]
    assert spec["info"]["contact"]


def test_caller_routes_declare_the_api_key_and_jwt_schemes(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header"}
    assert schemes["SalesforceJwt"]["scheme"] == "bearer"
    for (_, path), operation in _operations(spec).items():
        names = {p["name"].lower() for p in operation.get("parameters", [])}
        if path.startswith("/v1/") and "webhooks" not in path:
            assert operation["security"] == [{"ApiKey": []}, {"SalesforceJwt": []}], path
            assert not names & {"x-api-key", "authorization"}, path
        else:
            assert operation["security"] == [], path


async def test_the_documented_api_key_header_is_the_one_checked(
    app: FastAPI, spec: dict[str, Any]
) -> None:
    header = spec["components"]["securitySchemes"]["ApiKey"]["name"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://paybridge.test") as bare:
        query = {"order_id": "8015g00000AbCdEAAV"}
        assert (await bare.get("/v1/payments", params=query)).status_code == 401
        keyed = await bare.get("/v1/payments", params=query, headers={header: API_KEY})
        assert keyed.status_code == 200


def test_every_error_response_carries_a_valid_envelope_example(spec: dict[str, Any]) -> None:
    seen = set()
    for key, operation in _operations(spec).items():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                media = response["content"]["application/json"]
                assert media["schema"]["$ref"].endswith("/ErrorEnvelope"), (key, status)
                ErrorEnvelope.model_validate(media["example"])
                seen.add(status)
    assert seen == {"400", "401", "404", "409", "413", "415", "422", "502", "503"}


def test_every_json_request_body_has_examples_the_route_would_accept(spec: dict[str, Any]) -> None:
    models: dict[str, type[BaseModel]] = {m.__name__: m for m in BODY_MODELS}
    checked = 0
    for key, operation in _operations(spec).items():
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if media is None or "$ref" not in media["schema"]:
            continue
        model = models[media["schema"]["$ref"].rsplit("/", 1)[1]]
        assert media["examples"], key
        for example in media["examples"].values():
            raw = json.dumps(example["value"]).encode()
            refuse_card_data(parse_json_object(raw))
            model.model_validate(parse_json_object(raw))
            checked += 1
    assert checked >= 5


def test_the_main_responses_carry_examples(spec: dict[str, Any]) -> None:
    operations = {op["operationId"]: op for op in _operations(spec).values()}
    main = {
        "createPayment": "201",
        "getPayment": "200",
        "listPayments": "200",
        "capturePayment": "202",
        "getDispute": "200",
        "listDisputes": "200",
        "uploadDisputeEvidenceFile": "201",
        "createPaymentLink": "201",
        "getPaymentLink": "200",
        "listPaymentLinks": "200",
    }
    for operation_id, status in main.items():
        media = operations[operation_id]["responses"][status]["content"]["application/json"]
        assert media["example"], operation_id


def test_the_webhook_body_shows_a_checkout_event(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/v1/webhooks/checkout"]["post"]["requestBody"]
    example = body["content"]["application/json"]["example"]
    assert {"id", "type", "data"} <= set(example)
    assert example["data"]["id"].startswith("pay_")


def test_the_evidence_upload_shows_its_multipart_part_and_the_types_accepted(
    spec: dict[str, Any],
) -> None:
    """The one non-JSON body: its example names every required part, and the part's declared
    types are exactly the ones the route accepts (`EvidenceFileType`)."""
    body = spec["paths"]["/v1/disputes/{dispute_id}/files"]["post"]["requestBody"]
    media = body["content"]["multipart/form-data"]
    examples = list(media["examples"].values())
    assert examples
    for example in examples:
        assert set(media["schema"]["required"]) <= set(example["value"])
        assert set(example["value"]) <= set(media["schema"]["properties"])
    declared = {t.strip() for t in media["encoding"]["file"]["contentType"].split(",")}
    assert declared == {t.value for t in EvidenceFileType}
