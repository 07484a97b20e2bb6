"""CheckoutClient against a respx-mocked Checkout.com: headers, retries, errors, parsing."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx

from paybridge.adapters.checkout.client import CheckoutCallRecord, CheckoutClient
from paybridge.adapters.checkout.errors import (
    CheckoutActionNotAllowed,
    CheckoutAuthError,
    CheckoutConflict,
    CheckoutError,
    CheckoutNotFound,
    CheckoutUnavailable,
    CheckoutUnexpectedResponse,
    CheckoutValidationError,
)
from paybridge.adapters.checkout.models import CaptureRequest, RefundRequest, VoidRequest
from paybridge.adapters.http import USER_AGENT, RetryPolicy
from paybridge.errors import (
    Conflict,
    NotFound,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)
from tests.adapters.checkout.payloads import (
    ACTION_ID,
    DISPUTE_ID,
    PAYMENT_ID,
    REQUEST_ID,
    SECRET_KEY,
    action_202,
    load_sample,
    payment_201,
    payment_202,
    payment_request,
    validation_422,
)

KEY = "5f0c6a43-3c55-4e8e-8d0a-9a1f3f1d2b11"


def sent_keys(route: respx.Route) -> list[str | None]:
    return [call.request.headers.get("Cko-Idempotency-Key") for call in route.calls]


# --- requests and headers -----------------------------------------------------------------


async def test_create_payment_sends_auth_idempotency_and_identity_headers(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.post("/payments").respond(201, json=payment_201())

    await checkout.create_payment(payment_request(), idempotency_key=KEY)

    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert request.headers["Cko-Idempotency-Key"] == KEY
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("paybridge/")


async def test_per_call_secret_key_overrides_the_default(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.get(f"/payments/{PAYMENT_ID}").respond(200, json=payment_201())

    await checkout.get_payment(PAYMENT_ID, secret_key="sk_sbox_market_nl")

    assert route.calls.last.request.headers["Authorization"] == "Bearer sk_sbox_market_nl"


@pytest.mark.parametrize(
    ("method_name", "request_model", "path_suffix"),
    [
        ("capture", CaptureRequest(amount=5000, capture_type="NonFinal"), "captures"),
        ("void", VoidRequest(reference="00000100-void"), "voids"),
        ("refund", RefundRequest(amount=1000, metadata={"reason": "damaged"}), "refunds"),
    ],
)
async def test_actions_post_their_body_with_the_key_and_parse_the_202(
    cko: respx.MockRouter,
    checkout: CheckoutClient,
    method_name: str,
    request_model: CaptureRequest | VoidRequest | RefundRequest,
    path_suffix: str,
) -> None:
    route = cko.post(f"/payments/{PAYMENT_ID}/{path_suffix}").respond(202, json=action_202())

    accepted = await getattr(checkout, method_name)(PAYMENT_ID, request_model, idempotency_key=KEY)

    assert accepted.action_id == ACTION_ID
    request = route.calls.last.request
    assert request.headers["Cko-Idempotency-Key"] == KEY
    assert json.loads(request.content) == request_model.to_wire()


async def test_ids_are_escaped_into_a_single_path_segment(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.get(path__regex=r"^/payments/.+$").respond(200, json=payment_201())

    await checkout.get_payment("pay_x/../../disputes")

    assert route.calls.last.request.url.raw_path == b"/payments/pay_x%2F..%2F..%2Fdisputes"


# --- responses ----------------------------------------------------------------------------


async def test_decline_is_a_201_with_approved_false(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.post("/payments").respond(201, json=payment_201(approved=False))

    payment = await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert payment.approved is False
    assert payment.status == "Declined"
    assert payment.response_code == "20051"
    assert payment.redirect_url is None


async def test_approved_201_is_parsed(cko: respx.MockRouter, checkout: CheckoutClient) -> None:
    cko.post("/payments").respond(201, json=payment_201())

    payment = await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert (payment.id, payment.action_id, payment.amount) == (PAYMENT_ID, ACTION_ID, 6540)
    assert payment.approved is True
    assert payment.source is not None
    assert payment.source.last4 == "4242"


async def test_pending_202_exposes_the_redirect_link(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.post("/payments").respond(202, json=payment_202())

    payment = await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert payment.status == "Pending"
    assert payment.redirect_url == "https://3ds2-sandbox.ckotech.co/interceptor/3ds_abc/device"


async def test_unreadable_success_body_is_an_upstream_error(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.post("/payments").respond(201, json={"status": "Authorized"})

    with pytest.raises(CheckoutUnexpectedResponse) as caught:
        await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert caught.value.code == "upstream_error"
    assert isinstance(caught.value, UpstreamError)


async def test_payment_actions_are_parsed(cko: respx.MockRouter, checkout: CheckoutClient) -> None:
    sample = load_sample("spec-examples/get-payment-actions-200-response.json")
    cko.get(f"/payments/{PAYMENT_ID}/actions").respond(200, json=sample)

    actions = await checkout.get_payment_actions(PAYMENT_ID)

    assert [action.type for action in actions] == ["Refund", "Capture", "Authorization"]
    assert actions[1].metadata == {"shipping_ref": "MQIBN2"}


async def test_payments_are_listed_by_reference(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    details = load_sample("sdk-java-mocks/destination__card__get_payment_response.json")
    route = cko.get("/payments").respond(
        200, json={"limit": 10, "skip": 0, "total_count": 1, "data": [details]}
    )

    page = await checkout.list_payments_by_reference("00000100")

    assert route.calls.last.request.url.params["reference"] == "00000100"
    assert [payment.id for payment in page.data] == [PAYMENT_ID]


async def test_dispute_is_parsed_with_its_payment(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.get(f"/disputes/{DISPUTE_ID}").respond(
        200,
        json={
            "id": DISPUTE_ID,
            "category": "fraudulent",
            "amount": 6540,
            "currency": "EUR",
            "reason_code": "10.4",
            "status": "evidence_required",
            "relevant_evidence": ["proof_of_delivery_or_service", "customer_communication"],
            "evidence_required_by": "2024-05-01T00:00:00Z",
            "received_on": "2024-04-10T08:00:00Z",
            "payment": {
                "id": PAYMENT_ID,
                "action_id": ACTION_ID,
                "amount": 6540,
                "currency": "EUR",
                "processed_on": "2024-04-01T10:00:00Z",
            },
        },
    )

    dispute = await checkout.get_dispute(DISPUTE_ID)

    assert dispute.payment is not None
    assert (dispute.payment.id, dispute.payment.action_id) == (PAYMENT_ID, ACTION_ID)
    assert dispute.relevant_evidence == ["proof_of_delivery_or_service", "customer_communication"]


async def test_dispute_calls_use_the_documented_methods_and_paths(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    accept = cko.post(f"/disputes/{DISPUTE_ID}/accept").respond(204)
    provide = cko.put(f"/disputes/{DISPUTE_ID}/evidence").respond(204)
    submit = cko.post(f"/disputes/{DISPUTE_ID}/evidence").respond(204)
    evidence = {"proof_of_delivery_or_service_file": "file_6lbss42ezvoufcb2beo76rvwly"}

    await checkout.accept_dispute(DISPUTE_ID, idempotency_key=KEY)
    await checkout.provide_dispute_evidence(DISPUTE_ID, evidence)
    await checkout.submit_dispute_evidence(DISPUTE_ID)

    assert accept.calls.last.request.headers["Cko-Idempotency-Key"] == KEY
    assert json.loads(provide.calls.last.request.content) == evidence
    assert submit.call_count == 1


async def test_upload_file_is_multipart_with_the_dispute_evidence_purpose(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.post("/files").respond(200, json={"id": "file_6lbss42ezvoufcb2beo76rvwly"})

    uploaded = await checkout.upload_file("receipt.pdf", b"%PDF-1.7 test", "application/pdf")

    assert uploaded.id == "file_6lbss42ezvoufcb2beo76rvwly"
    request = route.calls.last.request
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = request.content
    assert b'name="purpose"\r\n\r\ndispute_evidence' in body
    assert b'name="file"; filename="receipt.pdf"' in body
    assert b"Content-Type: application/pdf" in body


# --- retries ------------------------------------------------------------------------------


async def test_server_errors_then_201_reuse_the_same_idempotency_key(
    cko: respx.MockRouter, checkout: CheckoutClient, call_records: list[CheckoutCallRecord]
) -> None:
    route = cko.post("/payments")
    route.side_effect = [
        httpx.Response(502),
        httpx.Response(503, headers={"Cko-Request-Id": REQUEST_ID}),
        httpx.Response(201, json=payment_201()),
    ]

    payment = await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert payment.id == PAYMENT_ID
    assert sent_keys(route) == [KEY, KEY, KEY]
    bodies = {call.request.content for call in route.calls}
    assert len(bodies) == 1
    assert [(r.attempt, r.http_status, r.error_code) for r in call_records] == [
        (1, 502, "upstream_unavailable"),
        (2, 503, "upstream_unavailable"),
        (3, 201, None),
    ]
    assert call_records[1].request_id == REQUEST_ID


async def test_timeout_then_success(cko: respx.MockRouter, checkout: CheckoutClient) -> None:
    route = cko.post(f"/payments/{PAYMENT_ID}/captures")
    route.side_effect = [
        httpx.ReadTimeout("read timed out"),
        httpx.Response(202, json=action_202()),
    ]

    accepted = await checkout.capture(PAYMENT_ID, CaptureRequest(), idempotency_key=KEY)

    assert accepted.action_id == ACTION_ID
    assert sent_keys(route) == [KEY, KEY]


async def test_timeouts_until_the_budget_is_spent_raise_unavailable(
    cko: respx.MockRouter, http_client: httpx.AsyncClient
) -> None:
    async def slow_timeout(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.04)
        raise httpx.ReadTimeout("read timed out", request=request)

    route = cko.post("/payments").mock(side_effect=slow_timeout)
    policy = RetryPolicy(max_attempts=50, budget_s=0.1, wait_initial_s=0.0, wait_max_s=0.0)
    client = CheckoutClient(http_client, secret_key=SECRET_KEY, retry_policy=policy)

    with pytest.raises(CheckoutUnavailable) as caught:
        await client.create_payment(payment_request(), idempotency_key=KEY)

    assert 2 <= route.call_count < 50
    assert caught.value.code == "upstream_unavailable"
    assert caught.value.upstream_status is None
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert isinstance(caught.value, UpstreamUnavailable)


async def test_transient_failures_stop_at_the_attempt_cap(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.post("/payments").respond(503)

    with pytest.raises(CheckoutUnavailable) as caught:
        await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert route.call_count == 3
    assert caught.value.upstream_status == 503


async def test_retry_after_is_accepted_and_the_call_completes(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.post("/payments")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(201, json=payment_201()),
    ]

    payment = await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert payment.approved is True
    assert route.call_count == 2


async def test_get_is_retried_without_a_key(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.get(f"/payments/{PAYMENT_ID}")
    route.side_effect = [
        httpx.ConnectTimeout("connect timed out"),
        httpx.Response(500),
        httpx.Response(200, json=payment_201()),
    ]

    details = await checkout.get_payment(PAYMENT_ID)

    assert details.id == PAYMENT_ID
    assert route.call_count == 3
    assert "Cko-Idempotency-Key" not in route.calls.last.request.headers


@pytest.mark.parametrize("failure", [httpx.Response(503), httpx.ReadTimeout("read timed out")])
async def test_a_post_without_a_key_is_never_retried(
    cko: respx.MockRouter, checkout: CheckoutClient, failure: httpx.Response | Exception
) -> None:
    submit = cko.post(f"/disputes/{DISPUTE_ID}/evidence").mock(side_effect=[failure])
    upload = cko.post("/files").mock(side_effect=[failure])

    with pytest.raises(CheckoutUnavailable):
        await checkout.submit_dispute_evidence(DISPUTE_ID)
    with pytest.raises(CheckoutUnavailable):
        await checkout.upload_file("receipt.pdf", b"%PDF", "application/pdf")

    assert (submit.call_count, upload.call_count) == (1, 1)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
async def test_client_errors_are_never_retried(
    cko: respx.MockRouter, checkout: CheckoutClient, status: int
) -> None:
    route = cko.post("/payments").respond(status)

    with pytest.raises(CheckoutError) as caught:
        await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert route.call_count == 1
    assert caught.value.upstream_status == status
    assert not caught.value.is_transient


# --- errors -------------------------------------------------------------------------------


async def test_422_carries_request_id_type_and_codes(
    cko: respx.MockRouter, checkout: CheckoutClient, call_records: list[CheckoutCallRecord]
) -> None:
    cko.post("/payments").respond(422, json=validation_422())

    with pytest.raises(CheckoutValidationError) as caught:
        await checkout.create_payment(payment_request(), idempotency_key=KEY)

    error = caught.value
    assert isinstance(error, ValidationFailed)
    assert (error.code, error.http_status, error.upstream_status) == (
        "upstream_validation_failed",
        422,
        422,
    )
    assert error.request_id == "2a16b1e2-7c5b-4b39-9e8d-2b4d5e6f7a8b"
    assert error.error_type == "request_invalid"
    assert error.error_codes == ["processing_channel_id_required", "payment_source_required"]
    assert error.extra["cko_request_id"] == error.request_id
    assert error.extra["error_codes"] == error.error_codes
    assert "processing_channel_id_required" in error.message
    assert call_records[-1].request_id == error.request_id
    assert call_records[-1].error_code == "upstream_validation_failed"


async def test_401_with_an_empty_body_is_an_auth_error(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.get(f"/payments/{PAYMENT_ID}").respond(401, headers={"Cko-Request-Id": REQUEST_ID})

    with pytest.raises(CheckoutAuthError) as caught:
        await checkout.get_payment(PAYMENT_ID)

    error = caught.value
    assert (error.code, error.http_status, error.upstream_status) == (
        "upstream_auth_failed",
        502,
        401,
    )
    assert error.request_id == REQUEST_ID
    assert (error.error_type, error.error_codes) == (None, [])
    assert SECRET_KEY not in str(error.extra)
    assert SECRET_KEY not in error.message


async def test_403_is_an_action_not_allowed_conflict(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.post(f"/payments/{PAYMENT_ID}/captures").respond(403)

    with pytest.raises(CheckoutActionNotAllowed) as caught:
        await checkout.capture(PAYMENT_ID, CaptureRequest(), idempotency_key=KEY)

    assert isinstance(caught.value, Conflict)
    assert (caught.value.code, caught.value.http_status) == ("upstream_action_not_allowed", 409)


async def test_404_is_not_found(cko: respx.MockRouter, checkout: CheckoutClient) -> None:
    cko.get(f"/disputes/{DISPUTE_ID}").respond(404, text="")

    with pytest.raises(CheckoutNotFound) as caught:
        await checkout.get_dispute(DISPUTE_ID)

    assert isinstance(caught.value, NotFound)
    assert (caught.value.code, caught.value.http_status) == ("upstream_not_found", 404)


async def test_409_means_the_same_key_is_in_flight(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.post("/payments").respond(409)

    with pytest.raises(CheckoutConflict) as caught:
        await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert (caught.value.code, caught.value.http_status) == ("upstream_in_flight", 503)
    assert route.call_count == 1


async def test_a_duplicate_flavoured_429_is_in_flight_after_retries(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    body = {"request_id": REQUEST_ID, "error_type": "duplicate_request", "error_codes": []}
    route = cko.post("/payments").respond(429, json=body)

    with pytest.raises(CheckoutConflict) as caught:
        await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert caught.value.code == "upstream_in_flight"
    assert route.call_count == 3


async def test_a_plain_429_is_unavailable_after_retries(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.post("/payments").respond(429, text="Too Many Requests")

    with pytest.raises(CheckoutUnavailable) as caught:
        await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert caught.value.upstream_status == 429


async def test_other_statuses_are_upstream_errors(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.post("/payments").respond(400, text="<html>bad request</html>")

    with pytest.raises(CheckoutUnexpectedResponse) as caught:
        await checkout.create_payment(payment_request(), idempotency_key=KEY)

    assert (caught.value.code, caught.value.http_status) == ("upstream_error", 502)


async def test_a_failing_call_hook_does_not_fail_the_call(
    cko: respx.MockRouter, http_client: httpx.AsyncClient
) -> None:
    async def broken(_: CheckoutCallRecord) -> None:
        raise RuntimeError("audit store down")

    cko.get(f"/payments/{PAYMENT_ID}").respond(200, json=payment_201())
    client = CheckoutClient(
        http_client, secret_key=SECRET_KEY, retry_policy=RetryPolicy.immediate(), on_call=broken
    )

    details = await client.get_payment(PAYMENT_ID)

    assert details.id == PAYMENT_ID
