"""CheckoutWorkflowClient against respx: paths, bodies checked against the NAS spec's
workflow schemas (tests/reference/checkout/openapi), retries, and the spec's own examples."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from paybridge.adapters.checkout.errors import CheckoutAuthError, CheckoutUnavailable
from paybridge.adapters.checkout.workflows import (
    CheckoutWorkflowClient,
    Workflow,
    WorkflowPatch,
    WorkflowTestRequest,
)
from paybridge.adapters.http import RetryPolicy
from paybridge.mapping.checkout_workflows import (
    event_condition,
    handled_event_types,
    webhook_action,
    workflow_request,
)
from tests.adapters.checkout.payloads import SECRET_KEY, load_sample
from tests.checkout_spec import validate_against_spec

WF = "wf_c7svxlvo2bbuva4f6s3xu4f7wm"  # the spec's own example id (`^wf_[a-z2-7]{26}$`)
URL = "https://paybridge.example.com/v1/webhooks/checkout"


@pytest.fixture
def workflows(http_client: httpx.AsyncClient) -> CheckoutWorkflowClient:
    return CheckoutWorkflowClient(
        http_client, secret_key=SECRET_KEY, retry_policy=RetryPolicy.immediate(3)
    )


def body(route: respx.Route, index: int = -1) -> object:
    return json.loads(route.calls[index].request.content)


async def test_create_sends_a_spec_valid_webhook_workflow(
    cko: respx.MockRouter, workflows: CheckoutWorkflowClient
) -> None:
    route = cko.post("/workflows").respond(201, json={"id": WF, "_links": {}})
    request = workflow_request(
        "paybridge",
        URL,
        signature_key="k" * 43,
        authorization="a" * 43,
        event_types=handled_event_types(),
    )

    created = await workflows.create_workflow(request)

    assert created.id == WF
    sent = body(route)
    validate_against_spec(sent, "add-workflow-request")
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert isinstance(sent, dict)
    assert sent["actions"] == [
        {
            "type": "webhook",
            "url": URL,
            "headers": {"Authorization": "a" * 43},
            "signature": {"method": "HMACSHA256", "key": "k" * 43},
        }
    ]
    events = sent["conditions"][0]["events"]
    assert set(events) == {"gateway", "dispute"}
    assert sorted(events["gateway"] + events["dispute"]) == sorted(handled_event_types())


async def test_updates_and_test_requests_match_the_spec(
    cko: respx.MockRouter, workflows: CheckoutWorkflowClient
) -> None:
    condition = cko.put(f"/workflows/{WF}/conditions/wfc_1").respond(200)
    action = cko.put(f"/workflows/{WF}/actions/wfa_1").respond(200)
    patch = cko.patch(f"/workflows/{WF}").respond(200, json={"name": "paybridge"})
    test = cko.post(f"/workflows/{WF}/test").respond(204)

    await workflows.update_condition(WF, "wfc_1", event_condition(["payment_captured"]))
    await workflows.update_action(
        WF, "wfa_1", webhook_action(URL, signature_key="k", authorization=None)
    )
    await workflows.patch_workflow(WF, WorkflowPatch(active=True))
    await workflows.test_workflow(WF, WorkflowTestRequest(event_types=["payment_approved"]))

    validate_against_spec(body(condition), "add-update-workflow-condition-request")
    validate_against_spec(body(condition), "event-condition")
    validate_against_spec(body(action), "add-update-workflow-action-request")
    validate_against_spec(body(action), "webhook-action")
    validate_against_spec(body(patch), "patch-workflow-request")
    validate_against_spec(body(test), "test-workflow-request")
    assert body(patch) == {"active": True}
    assert body(action) == {
        "type": "webhook",
        "url": URL,
        "signature": {"method": "HMACSHA256", "key": "k"},
    }


def test_the_spec_examples_are_what_paybridge_builds_and_reads() -> None:
    # The spec's example requests validate (the check is not vacuous) and its GET reads.
    validate_against_spec(
        load_sample("spec-examples/post-workflows-request.json"), "add-workflow-request"
    )
    validate_against_spec(
        load_sample("spec-examples/post-workflow-test-request.json"), "test-workflow-request"
    )
    workflow = Workflow.model_validate(load_sample("spec-examples/get-workflow-response.json"))
    assert workflow.actions[0].url == "https://example.com/webhooks"
    assert workflow.conditions[0].events == {
        "gateway": ["payment_approved", "payment_pending", "payment_declined"]
    }


def test_a_workflow_without_a_signature_key_is_not_what_the_spec_allows() -> None:
    action = webhook_action(URL, signature_key="k", authorization=None).to_wire()
    del action["signature"]["key"]
    with pytest.raises(AssertionError, match="key"):
        validate_against_spec(action, "webhook-action")


async def test_reads_are_retried_and_creates_are_not(
    cko: respx.MockRouter, workflows: CheckoutWorkflowClient
) -> None:
    listed = cko.get("/workflows").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"data": [{"id": WF}]})]
    )
    put = cko.put(f"/workflows/{WF}/conditions/wfc_1").mock(
        side_effect=[httpx.Response(502), httpx.Response(200)]
    )
    create = cko.post("/workflows").respond(503)

    assert [s.id for s in (await workflows.list_workflows()).data] == [WF]
    await workflows.update_condition(WF, "wfc_1", event_condition(["payment_captured"]))
    with pytest.raises(CheckoutUnavailable):
        await workflows.create_workflow(
            workflow_request("p", URL, signature_key="k", authorization=None, event_types=["x"])
        )

    assert (listed.call_count, put.call_count, create.call_count) == (2, 2, 1)


async def test_a_refused_key_is_an_auth_error(
    cko: respx.MockRouter, workflows: CheckoutWorkflowClient
) -> None:
    cko.get("/workflows").respond(401)
    with pytest.raises(CheckoutAuthError):
        await workflows.list_workflows()


async def test_conditions_and_actions_are_added_once(
    cko: respx.MockRouter, workflows: CheckoutWorkflowClient
) -> None:
    condition = cko.post(f"/workflows/{WF}/conditions").respond(201, json={"id": "wfc_new"})
    action = cko.post(f"/workflows/{WF}/actions").mock(side_effect=[httpx.Response(503)])

    added = await workflows.add_condition(WF, event_condition(["dispute_won"]))
    with pytest.raises(CheckoutUnavailable):
        await workflows.add_action(WF, webhook_action(URL, signature_key="k", authorization=None))

    assert added == "wfc_new"
    validate_against_spec(body(condition), "add-update-workflow-condition-request")
    validate_against_spec(body(action), "add-update-workflow-action-request")
    assert action.call_count == 1  # a POST without an idempotency key is never repeated
