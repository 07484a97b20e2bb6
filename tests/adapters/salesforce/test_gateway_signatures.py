"""Gateway notifications as the package's Apex verifies them: the body paybridge builds, its
signature header, and the sender's answer classes.

The signing vector is read from the Apex test (`PaybridgeGatewayNotificationsTest.cls`), so a
change of the scheme on either side fails here instead of in a customer's org.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from paybridge.adapters.salesforce.errors import SalesforceTransientError
from paybridge.adapters.salesforce.gateway_client import GatewayNotificationClient
from paybridge.adapters.salesforce.gateway_signatures import (
    SIGNATURE_HEADER,
    TOLERANCE_S,
    signature,
    signature_header,
    verify_signature_header,
)
from paybridge.mapping.gateway_notifications import GatewayNotice, notification_body
from tests.salesforce_package.package import COMMERCE, source_dir

APEX_TEST = source_dir(COMMERCE) / "classes" / "PaybridgeGatewayNotificationsTest.cls"
NOTICE = GatewayNotice(
    kind="capture",
    status="Succeeded",
    checkout_payment_id="pay_mbabizu24mvu3mela5njyhpit4",
    checkout_action_id="act_y3oqhf46pyzuxjbcn2giaqnb44",
    currency="EUR",
    amount_minor=5000,
    response_code="10000",
    response_summary="Approved",
    processed_at=datetime(2026, 12, 5, 10, 15, 1, tzinfo=UTC),
)


def _apex_constant(name: str) -> str:
    found = re.search(rf"String {name} = '([^']*)';", APEX_TEST.read_text(encoding="utf-8"))
    assert found is not None, name
    return found.group(1)


def test_paybridge_signs_exactly_what_the_apex_test_verifies() -> None:
    body = notification_body(NOTICE)
    secret, timestamp = _apex_constant("SECRET"), int(_apex_constant("TIMESTAMP"))

    assert body.decode() == _apex_constant("CAPTURE_BODY")
    assert signature(body, secret, timestamp=timestamp) == _apex_constant("SIGNATURE")


def test_the_body_is_compact_sorted_and_leaves_out_what_is_unknown() -> None:
    declined = GatewayNotice(
        kind="refund",
        status="Declined",
        checkout_payment_id="pay_x",
        checkout_action_id="act_y",
        currency="JPY",
        amount_minor=1500,
    )

    assert notification_body(declined) == (
        b'{"action_id":"act_y","amount":"1500","currency":"JPY","payment_id":"pay_x",'
        b'"status":"Declined","type":"refund"}'
    )


def test_a_header_carries_one_signature_per_secret_for_rotation() -> None:
    body = notification_body(NOTICE)
    header = signature_header(body, ["old-secret", "new-secret"], timestamp=1_800_000_000)

    assert header.startswith("t=1800000000,v1=")
    assert header.count("v1=") == 2
    for secret in ("old-secret", "new-secret"):
        assert verify_signature_header(header, body, secret, now=1_800_000_010)
    assert not verify_signature_header(header, body, "other-secret", now=1_800_000_010)


@pytest.mark.parametrize(
    ("change", "now"),
    [
        ("tampered body", 1_800_000_000),
        ("stale", 1_800_000_000 + TOLERANCE_S + 1),
        ("from the future", 1_800_000_000 - TOLERANCE_S - 1),
    ],
)
def test_a_tampered_or_stale_notification_does_not_verify(change: str, now: int) -> None:
    body = notification_body(NOTICE)
    header = signature_header(body, ["secret"], timestamp=1_800_000_000)
    sent = body.replace(b"50.00", b"5000.00") if change == "tampered body" else body

    assert not verify_signature_header(header, sent, "secret", now=now)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=abc,v1=abc", "t=1800000000"])
def test_a_malformed_header_does_not_verify(header: str | None) -> None:
    assert not verify_signature_header(header, b"{}", "secret", now=1_800_000_000)


def test_signing_without_a_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        signature_header(b"{}", [], timestamp=1)


async def _send(answer: httpx.Response | Exception) -> tuple[list[httpx.Request], object]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    url = "https://shop.my.site.com/pay/services/data/v66.0/commerce/payments/notify?provider=0cJ"
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = GatewayNotificationClient(
            http, url=url, secrets=["secret"], unix_time=lambda: 1_800_000_000.5
        )
        try:
            result: object = await client.send(b'{"type":"capture"}')
        except SalesforceTransientError as exc:
            result = exc
    return seen, result


async def test_the_sender_posts_the_signed_body_to_the_notification_url() -> None:
    seen, answer = await _send(httpx.Response(200, text='{"result":"recorded"}'))

    (request,) = seen
    assert request.method == "POST"
    assert request.url.params["provider"] == "0cJ"
    assert request.headers["Content-Type"] == "application/json"
    header = request.headers[SIGNATURE_HEADER]
    assert verify_signature_header(header, request.content, "secret", now=1_800_000_000)
    assert getattr(answer, "status_code", None) == 200


@pytest.mark.parametrize("status", [401, 400, 409])
async def test_refusals_are_answers_for_the_caller_to_judge(status: int) -> None:
    _, answer = await _send(httpx.Response(status, text="no"))

    assert getattr(answer, "status_code", None) == status


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503),
        httpx.Response(500),
        httpx.Response(429),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("down"),
    ],
)
async def test_an_org_away_is_a_transient_salesforce_error(
    failure: httpx.Response | Exception,
) -> None:
    _, answer = await _send(failure)

    assert isinstance(answer, SalesforceTransientError)
