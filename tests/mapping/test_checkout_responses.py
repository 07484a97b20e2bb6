"""Checkout.com's answer to POST /payments → the first ledger facts."""

from __future__ import annotations

from typing import Any

import pytest

from paybridge.adapters.checkout.models import PaymentResponse
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.mapping.checkout_responses import authorization_fact, captured_fact


def response(**fields: Any) -> PaymentResponse:
    body = {
        "id": "pay_x",
        "action_id": "act_x",
        "amount": 1000,
        "status": "Authorized",
        "approved": True,
    }
    body.update(fields)
    return PaymentResponse.model_validate(body)


@pytest.mark.parametrize(
    ("fields", "status", "kind"),
    [
        ({}, ActionStatus.SUCCEEDED, ActionType.AUTHORIZATION),
        (
            {"status": "Declined", "approved": False},
            ActionStatus.DECLINED,
            ActionType.AUTHORIZATION,
        ),
        (
            {"status": "Pending", "approved": None, "action_id": None},
            ActionStatus.PENDING,
            ActionType.AUTHORIZATION,
        ),
        (
            {"status": "Card Verified", "amount": 0},
            ActionStatus.SUCCEEDED,
            ActionType.CARD_VERIFICATION,
        ),
        ({"status": "Captured"}, ActionStatus.SUCCEEDED, ActionType.AUTHORIZATION),
    ],
)
def test_authorization_fact(fields: dict[str, Any], status: ActionStatus, kind: ActionType) -> None:
    fact = authorization_fact(response(**fields), amount_minor=1000, idempotency_key_id="k")
    assert fact.status is status
    assert fact.type is kind
    assert fact.action_key == (fields.get("action_id", "act_x") or "pay_x:authorization")


def test_an_auto_captured_payment_also_states_its_capture() -> None:
    fact = captured_fact(response(status="Captured"), amount_minor=1000)
    assert fact is not None
    assert (fact.type, fact.status, fact.amount_minor, fact.final) == (
        ActionType.CAPTURE,
        ActionStatus.SUCCEEDED,
        1000,
        True,
    )
    assert captured_fact(response(), amount_minor=1000) is None
