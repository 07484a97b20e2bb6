"""Checkout.com's Workflows API (webhook set-up): wire models and the calls an operator makes.

Shapes follow the NAS spec's `add-workflow-request`, `get-workflow-response`,
`patch-workflow-request`, `add-update-workflow-{condition,action}-request` and
`test-workflow-request` (tests/reference/checkout/openapi). The calls go through
`CheckoutClient`'s one retrying, logging `_call`: a GET, PUT or PATCH is retried on transient
failures; a POST (create, add, test) never is, since repeating it would create a second one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from paybridge.adapters.checkout.client import CheckoutClient, _parse, _segment
from paybridge.adapters.checkout.models import _WireRequest, _WireResponse

SIGNATURE_METHOD: Literal["HMACSHA256"] = "HMACSHA256"


# --- requests -------------------------------------------------------------------------------


class WebhookSignature(_WireRequest):
    method: Literal["HMACSHA256"] = SIGNATURE_METHOD
    key: str = Field(min_length=1)


class WebhookActionRequest(_WireRequest):
    """`webhook-action`: where to post, extra headers, and the HMAC key of `Cko-Signature`."""

    type: Literal["webhook"] = "webhook"
    url: str = Field(min_length=1)
    headers: dict[str, str] | None = None
    signature: WebhookSignature


class EventConditionRequest(_WireRequest):
    """`event-condition`: event types grouped by source (`gateway`, `dispute`…)."""

    type: Literal["event"] = "event"
    events: dict[str, list[str]]


class WorkflowRequest(_WireRequest):
    name: str = Field(min_length=1)
    active: bool = True
    conditions: list[EventConditionRequest] = Field(min_length=1)
    actions: list[WebhookActionRequest] = Field(min_length=1)


class WorkflowPatch(_WireRequest):
    name: str | None = None
    active: bool | None = None


class WorkflowTestRequest(_WireRequest):
    event_types: list[str] = Field(min_length=1)


# --- responses ------------------------------------------------------------------------------


class WorkflowSummary(_WireResponse):
    id: str
    name: str | None = None
    active: bool | None = None


class WorkflowList(_WireResponse):
    data: list[WorkflowSummary] = Field(default_factory=list)


class WorkflowCondition(_WireResponse):
    id: str
    type: str
    events: dict[str, list[str]] | None = None


class WorkflowAction(_WireResponse):
    id: str
    type: str
    url: str | None = None
    headers: dict[str, str] | None = None


class Workflow(_WireResponse):
    id: str
    name: str | None = None
    active: bool | None = None
    conditions: list[WorkflowCondition] = Field(default_factory=list)
    actions: list[WorkflowAction] = Field(default_factory=list)


class WorkflowCreated(_WireResponse):
    id: str


class ItemCreated(_WireResponse):
    id: str


class CheckoutWorkflowClient(CheckoutClient):
    """`CheckoutClient` plus the Workflows endpoints (needs a key with `flow:workflows`)."""

    async def list_workflows(self) -> WorkflowList:
        response = await self._call("workflow.list", "GET", "/workflows")
        parsed: WorkflowList = _parse(WorkflowList, response, "workflow.list")
        return parsed

    async def get_workflow(self, workflow_id: str) -> Workflow:
        path = f"/workflows/{_segment(workflow_id)}"
        response = await self._call("workflow.get", "GET", path)
        parsed: Workflow = _parse(Workflow, response, "workflow.get")
        return parsed

    async def create_workflow(self, request: WorkflowRequest) -> WorkflowCreated:
        response = await self._call("workflow.create", "POST", "/workflows", json=request.to_wire())
        parsed: WorkflowCreated = _parse(WorkflowCreated, response, "workflow.create")
        return parsed

    async def patch_workflow(self, workflow_id: str, patch: WorkflowPatch) -> None:
        path = f"/workflows/{_segment(workflow_id)}"
        await self._call("workflow.patch", "PATCH", path, json=patch.to_wire())

    async def add_condition(self, workflow_id: str, condition: EventConditionRequest) -> str:
        return await self._add(workflow_id, "conditions", condition)

    async def update_condition(
        self, workflow_id: str, condition_id: str, condition: EventConditionRequest
    ) -> None:
        path = f"/workflows/{_segment(workflow_id)}/conditions/{_segment(condition_id)}"
        await self._call("workflow.condition.update", "PUT", path, json=condition.to_wire())

    async def add_action(self, workflow_id: str, action: WebhookActionRequest) -> str:
        return await self._add(workflow_id, "actions", action)

    async def update_action(
        self, workflow_id: str, action_id: str, action: WebhookActionRequest
    ) -> None:
        path = f"/workflows/{_segment(workflow_id)}/actions/{_segment(action_id)}"
        await self._call("workflow.action.update", "PUT", path, json=action.to_wire())

    async def test_workflow(self, workflow_id: str, request: WorkflowTestRequest) -> None:
        """204: Checkout.com will send a test event of each type (sandbox accounts)."""
        path = f"/workflows/{_segment(workflow_id)}/test"
        await self._call("workflow.test", "POST", path, json=request.to_wire())

    async def _add(self, workflow_id: str, kind: str, item: _WireRequest) -> str:
        """POST a condition or action to a workflow; the new item's id."""
        operation = f"workflow.{kind.removesuffix('s')}.add"
        path = f"/workflows/{_segment(workflow_id)}/{kind}"
        response = await self._call(operation, "POST", path, json=item.to_wire())
        created: ItemCreated = _parse(ItemCreated, response, operation)
        return created.id
