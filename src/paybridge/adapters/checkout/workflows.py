"""Checkout.com's Workflows API (webhook set-up): wire models and the calls an operator makes.

Shapes follow the NAS spec's `add-workflow-request`, `get-workflow-response`,
`patch-workflow-request`, `add-update-workflow-{condition,action}-request` and
`test-workflow-request` (tests/reference/checkout/openapi). The calls go through
`CheckoutClient`'s one retrying, logging `_call`: a GET, PUT or PATCH is retried on transient
failures; a POST (create, add, test) never is, since repeating it would create a second one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from paybridge.adapters.checkout.client import CheckoutClient, _parse, _segment

SIGNATURE_METHOD: Literal["HMACSHA256"] = "HMACSHA256"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- requests -------------------------------------------------------------------------------


class WebhookSignature(_Request):
    method: Literal["HMACSHA256"] = SIGNATURE_METHOD
    key: str = Field(min_length=1)


class WebhookActionRequest(_Request):
    """`webhook-action`: where to post, extra headers, and the HMAC key of `Cko-Signature`."""

    type: Literal["webhook"] = "webhook"
    url: str = Field(min_length=1)
    headers: dict[str, str] | None = None
    signature: WebhookSignature


class EventConditionRequest(_Request):
    """`event-condition`: event types grouped by source (`gateway`, `dispute`…)."""

    type: Literal["event"] = "event"
    events: dict[str, list[str]]


class WorkflowRequest(_Request):
    name: str = Field(min_length=1)
    active: bool = True
    conditions: list[EventConditionRequest] = Field(min_length=1)
    actions: list[WebhookActionRequest] = Field(min_length=1)


class WorkflowPatch(_Request):
    name: str | None = None
    active: bool | None = None


class WorkflowTestRequest(_Request):
    event_types: list[str] = Field(min_length=1)


# --- responses ------------------------------------------------------------------------------


class WorkflowSummary(_Response):
    id: str
    name: str | None = None
    active: bool | None = None


class WorkflowList(_Response):
    data: list[WorkflowSummary] = Field(default_factory=list)


class WorkflowCondition(_Response):
    id: str
    type: str
    events: dict[str, list[str]] | None = None


class WorkflowAction(_Response):
    id: str
    type: str
    url: str | None = None
    headers: dict[str, str] | None = None


class Workflow(_Response):
    id: str
    name: str | None = None
    active: bool | None = None
    conditions: list[WorkflowCondition] = Field(default_factory=list)
    actions: list[WorkflowAction] = Field(default_factory=list)


class WorkflowCreated(_Response):
    id: str


class ItemCreated(_Response):
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
        path = f"/workflows/{_segment(workflow_id)}/conditions"
        response = await self._call(
            "workflow.condition.add", "POST", path, json=condition.to_wire()
        )
        created: ItemCreated = _parse(ItemCreated, response, "workflow.condition.add")
        return created.id

    async def update_condition(
        self, workflow_id: str, condition_id: str, condition: EventConditionRequest
    ) -> None:
        path = f"/workflows/{_segment(workflow_id)}/conditions/{_segment(condition_id)}"
        await self._call("workflow.condition.update", "PUT", path, json=condition.to_wire())

    async def add_action(self, workflow_id: str, action: WebhookActionRequest) -> str:
        path = f"/workflows/{_segment(workflow_id)}/actions"
        response = await self._call("workflow.action.add", "POST", path, json=action.to_wire())
        created: ItemCreated = _parse(ItemCreated, response, "workflow.action.add")
        return created.id

    async def update_action(
        self, workflow_id: str, action_id: str, action: WebhookActionRequest
    ) -> None:
        path = f"/workflows/{_segment(workflow_id)}/actions/{_segment(action_id)}"
        await self._call("workflow.action.update", "PUT", path, json=action.to_wire())

    async def test_workflow(self, workflow_id: str, request: WorkflowTestRequest) -> None:
        """204: Checkout.com will send a test event of each type (sandbox accounts)."""
        path = f"/workflows/{_segment(workflow_id)}/test"
        await self._call("workflow.test", "POST", path, json=request.to_wire())
