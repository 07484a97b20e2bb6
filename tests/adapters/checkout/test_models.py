"""Wire models: request bodies satisfy Checkout.com's schemas; responses parse leniently."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
import respx

from paybridge.adapters.checkout.client import CheckoutClient
from paybridge.adapters.checkout.models import (
    ApmSource,
    CaptureRequest,
    Dispute,
    IdSource,
    PaymentDetails,
    PaymentResponse,
    RefundRequest,
    VoidRequest,
)
from tests.adapters.checkout.payloads import (
    ACTION_ID,
    PAYMENT_ID,
    TOKEN,
    action_202,
    load_sample,
    payment_201,
    payment_request,
)
from tests.checkout_spec import SpecValidationError, validate_against_spec

KEY = "0b9f6a52-1a0e-4a7c-9d55-3f0d7c1e2a94"


async def test_create_payment_body_matches_the_spec(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.post("/payments").respond(201, json=payment_201())

    await checkout.create_payment(payment_request(), idempotency_key=KEY)

    body = json.loads(route.calls.last.request.content)
    validate_against_spec(body, "PaymentRequest")
    assert body["3ds"] == {
        "enabled": True,
        "attempt_n3d": True,
        "challenge_indicator": "no_preference",
    }
    assert "three_ds" not in body
    assert body["source"]["billing_address"]["country"] == "NL"
    assert body["capture"] is False
    assert body["metadata"]["sf_order_id"] == "8015g00000AbCdEAAV"
    assert "id" not in body["customer"]


@pytest.mark.parametrize(
    ("method_name", "request_model", "schema_name"),
    [
        (
            "capture",
            CaptureRequest(amount=5000, capture_type="Final", reference="c-1"),
            "CaptureRequest",
        ),
        ("capture", CaptureRequest(), "CaptureRequest"),
        ("void", VoidRequest(reference="v-1", metadata={"sf_order_id": "801x"}), "VoidRequest"),
        ("refund", RefundRequest(amount=1, reference="r-1", metadata={"n": 1}), "RefundRequest"),
    ],
)
async def test_action_bodies_match_the_spec(
    cko: respx.MockRouter,
    checkout: CheckoutClient,
    method_name: str,
    request_model: CaptureRequest | VoidRequest | RefundRequest,
    schema_name: str,
) -> None:
    route = cko.post(path__regex=r"^/payments/pay_\w+/\w+$").respond(202, json=action_202())

    await getattr(checkout, method_name)(PAYMENT_ID, request_model, idempotency_key=KEY)

    validate_against_spec(json.loads(route.calls.last.request.content), schema_name)


@pytest.mark.parametrize(
    "source",
    [
        IdSource(id="src_nwd3m4in3hkuddfpjsaevunhdy"),
        ApmSource(type="ideal", description="Order 00000100", bic="INGBNL2A"),
    ],
)
def test_other_sources_match_the_spec(source: IdSource | ApmSource) -> None:
    validate_against_spec(payment_request(source=source).to_wire(), "PaymentRequest")


def test_the_spec_check_is_not_vacuous() -> None:
    body = payment_request().to_wire()
    body["source"]["token"] = "tok_short"
    body["payment_ip"] = "not-an-ip"

    with pytest.raises(SpecValidationError) as caught:
        validate_against_spec(body, "PaymentRequest")

    text = str(caught.value)
    assert "$.source.token" in text
    assert "$.payment_ip" in text


def test_an_unknown_schema_name_is_refused() -> None:
    with pytest.raises(KeyError, match="PaymentRequest"):
        validate_against_spec({}, "PaymentRequests")


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 149.9},
        {"amount": 1_000_000_000},
        {"currency": "eur"},
        {"reference": "x" * 51},
        {"source": {"type": "card", "number": "4242424242424242"}},
        {"source": {"type": "token", "token": TOKEN, "cvv": "123"}},
        {"customer": {"id": "0035g00000QwErTAAV"}},
        {"unknown_field": 1},
    ],
)
def test_payment_requests_refuse_what_checkout_would_not_take(changes: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        payment_request(**changes)


def test_sources_are_chosen_by_type() -> None:
    request = payment_request(source={"type": "id", "id": "src_nwd3m4in3hkuddfpjsaevunhdy"})
    assert isinstance(request.source, IdSource)
    apm = payment_request(source={"type": "klarna", "account_holder": {"billing_address": {}}})
    assert isinstance(apm.source, ApmSource)
    assert apm.to_wire()["source"]["account_holder"] == {"billing_address": {}}


def test_3ds_is_accepted_under_its_wire_name() -> None:
    request = payment_request(three_ds=None)
    request = request.model_validate({**request.to_wire(), "3ds": {"enabled": False}})
    assert request.three_ds is not None
    assert request.to_wire()["3ds"] == {"enabled": False}


@pytest.mark.parametrize(
    "sample",
    [
        "sdk-java-mocks/destination__card__get_payment_response.json",
        "sdk-java-mocks/get_payment_klarna_response.json",
        "sdk-java-mocks/plan__get_payment_details_response.json",
    ],
)
def test_payment_details_samples_parse(sample: str) -> None:
    details = PaymentDetails.model_validate(load_sample(sample))
    assert details.id.startswith("pay_")
    assert details.status


def test_201_sample_parses_despite_its_misnamed_link() -> None:
    payment = PaymentResponse.model_validate(payment_201())
    assert (payment.id, payment.action_id) == (PAYMENT_ID, ACTION_ID)
    assert payment.link("action") is not None
    assert payment.redirect_url is None


def test_malformed_links_do_not_break_parsing() -> None:
    body = {"id": PAYMENT_ID, "status": "Pending", "_links": {"redirect": "nope", "self": None}}
    assert PaymentResponse.model_validate(body).redirect_url is None


def test_dispute_evidence_list_is_read_flat() -> None:
    body = {"id": "dsp_x", "status": "lost", "relevant_evidence": [["invoice_or_receipt"], "x"]}
    assert Dispute.model_validate(body).relevant_evidence == ["invoice_or_receipt", "x"]
