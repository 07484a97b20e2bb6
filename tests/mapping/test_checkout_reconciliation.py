"""Checkout.com's answers when asked (actions list, payment status) → ledger facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paybridge.adapters.checkout.models import PAYMENT_ACTIONS, PaymentAction, PaymentDetails
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.mapping.checkout_reconciliation import facts_from_actions, facts_from_status

SAMPLES = Path(__file__).resolve().parents[1] / "reference/checkout/samples"


def sample_actions() -> list[PaymentAction]:
    path = SAMPLES / "spec-examples/get-payment-actions-200-response.json"
    actions: list[PaymentAction] = PAYMENT_ACTIONS.validate_python(json.loads(path.read_text()))
    return actions


def test_the_documented_actions_become_facts_keyed_by_action_id() -> None:
    facts = facts_from_actions(sample_actions())

    assert [(f.action_key, f.type, f.status, f.amount_minor) for f in facts] == [
        ("act_fd3h6evhpn3uxdoqbuu3lqnqbm", ActionType.REFUND, ActionStatus.SUCCEEDED, 1000),
        ("act_gefycn3jcvuupboxfmqrhk2aym", ActionType.CAPTURE, ActionStatus.SUCCEEDED, 6540),
        ("act_y3oqhf46pyzuxjbcn2giaqnb44", ActionType.AUTHORIZATION, ActionStatus.SUCCEEDED, 6540),
    ]
    authorization = facts[2]
    assert authorization.response_code == "10000"
    assert authorization.reference == "ORD-5023-4E89"
    assert authorization.processed_at == datetime(2018, 1, 17, 9, 30, 48, tzinfo=UTC)
    assert {fact.source for fact in facts} == {"reconciliation"}


def test_declines_count_and_undecided_or_unknown_actions_do_not() -> None:
    actions = [
        PaymentAction(
            id="act_void", type="Void", amount=100, approved=False, response_code="30000"
        ),
        PaymentAction(id="act_open", type="Capture", amount=100, approved=None),
        PaymentAction(id="act_incr", type="Authorization Increment", amount=5, approved=True),
    ]

    facts = facts_from_actions(actions)

    assert [(f.action_key, f.type, f.status) for f in facts] == [
        ("act_void", ActionType.VOID, ActionStatus.DECLINED)
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Expired", [("pay_x:expiry", ActionType.EXPIRY, ActionStatus.SUCCEEDED)]),
        ("Canceled", [("pay_x:cancellation", ActionType.CANCELLATION, ActionStatus.SUCCEEDED)]),
        ("Declined", [("pay_x:authorization", ActionType.AUTHORIZATION, ActionStatus.DECLINED)]),
        ("Pending", []),
        ("Authorized", []),  # its Authorization action says so, with its id
    ],
)
def test_a_payment_without_actions_tells_its_end_by_status(
    status: str, expected: list[tuple[str, ActionType, ActionStatus]]
) -> None:
    details = PaymentDetails(id="pay_x", status=status, currency="EUR", amount=100)

    facts = facts_from_status(details)

    assert [(f.action_key, f.type, f.status) for f in facts] == expected
