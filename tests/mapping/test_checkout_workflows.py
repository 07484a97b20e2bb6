"""The webhook workflow paybridge asks for: exactly the event types its intake applies."""

from __future__ import annotations

from paybridge.adapters.checkout.workflows import Workflow
from paybridge.domain.disputes import EVENT_STATUSES
from paybridge.mapping.checkout_events import PAYMENT_EVENTS, EventEnvelope
from paybridge.mapping.checkout_workflows import (
    action_drift,
    event_drift,
    events_by_source,
    find_webhook_action,
    handled_event_types,
)
from tests.adapters.checkout.payloads import load_sample

SPEC_WORKFLOW = "spec-examples/get-workflow-response.json"


def test_the_subscription_is_the_intakes_own_event_mapping() -> None:
    handled = set(handled_event_types())

    assert handled == set(PAYMENT_EVENTS) | set(EVENT_STATUSES)
    for event_type in handled:
        event = EventEnvelope(id="evt_x", type=event_type, occurred_at=None, data={})
        assert event.is_payment_event or event.is_dispute_event, event_type


def test_types_paybridge_ignores_are_not_asked_for() -> None:
    # From the spec's own add-workflow example: an event paybridge does not apply.
    asked = load_sample("spec-examples/post-workflows-request.json")
    spec_types = {t for ts in asked["conditions"][0]["events"].values() for t in ts}
    assert "payment_authorization_incremented" in spec_types
    assert "payment_authorization_incremented" not in handled_event_types()


def test_event_types_are_grouped_by_source_as_the_spec_example_does() -> None:
    grouped = events_by_source(["payment_captured", "dispute_won", "card_verified"])
    assert grouped == {"dispute": ["dispute_won"], "gateway": ["card_verified", "payment_captured"]}


def test_drift_of_the_specs_example_workflow() -> None:
    workflow = Workflow.model_validate(load_sample(SPEC_WORKFLOW))

    drift = event_drift(workflow, ["payment_approved", "payment_captured"])
    assert drift == [
        "misses 1 event type(s): payment_captured",
        "sends 2 event type(s) paybridge ignores: payment_declined, payment_pending",
    ]
    assert event_drift(workflow, ["payment_approved", "payment_pending", "payment_declined"]) == []

    action = find_webhook_action(workflow, "https://example.com/webhooks")
    assert action is not None
    assert action_drift(action, url="https://example.com/webhooks", authorization="x") == []
    assert action_drift(
        action, url="https://pb.example/v1/webhooks/checkout", authorization=None
    ) == ["posts to https://example.com/webhooks, not https://pb.example/v1/webhooks/checkout"]
    assert action_drift(None, url="https://x", authorization=None) == ["has no webhook action"]
