"""Workflows of the simulated Checkout.com: list, create, read, patch, conditions, actions and
`POST /workflows/{id}/test`, which signs a test event per type with each webhook action's
key and posts it to the action's URL (with its headers), as Checkout.com's sandbox does.

Answers follow the NAS spec: 201 `{id, _links}` on create, `get-workflow-response` on read,
204 on test (422 `event_types_invalid` for a type the workflow does not select).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paybridge.adapters.checkout.signatures import compute_signature
from paybridge.sandbox.checkout_webhooks import dispute_event, payment_event
from paybridge.sandbox.ids import cko_id

_log = structlog.get_logger(__name__)
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"  # the spec's `^wf_[a-z2-7]{26}$`
_API = "https://api.sandbox.checkout.com"


def _wf_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(_BASE32) for _ in range(26))


def _invalid(*codes: str) -> JSONResponse:
    body = {"request_id": cko_id("req"), "error_type": "request_invalid", "error_codes": codes}
    return JSONResponse(body, status_code=422)


@dataclass
class SentTestEvent:
    """One test event the simulator posted: where, and what the receiver answered."""

    event_id: str
    type: str
    url: str
    http_status: int | None


@dataclass
class WorkflowDesk:
    """The workflows half of `CheckoutSimulator` (it supplies `_guard`). `workflow_transport`
    carries test webhooks to the registered URL (None: the network)."""

    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)
    workflow_transport: httpx.AsyncBaseTransport | None = None
    sent_test_events: list[SentTestEvent] = field(default_factory=list)
    _test_tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    async def _guard(self, request: Request) -> tuple[Response | None, Any, str | None]:
        raise NotImplementedError

    def workflow_routes(self) -> list[Route]:
        return [
            Route("/workflows", self._list_workflows, methods=["GET"]),
            Route("/workflows", self._add_workflow, methods=["POST"]),
            Route("/workflows/{wid}", self._get_workflow, methods=["GET"]),
            Route("/workflows/{wid}", self._patch_workflow, methods=["PATCH"]),
            Route("/workflows/{wid}/conditions", self._add_condition, methods=["POST"]),
            Route("/workflows/{wid}/conditions/{cid}", self._put_condition, methods=["PUT"]),
            Route("/workflows/{wid}/actions", self._add_action, methods=["POST"]),
            Route("/workflows/{wid}/actions/{aid}", self._put_action, methods=["PUT"]),
            Route("/workflows/{wid}/test", self._test_workflow, methods=["POST"]),
        ]

    async def wait_for_test_events(self, timeout_s: float = 5.0) -> None:
        """Wait for the test webhooks still being posted."""
        if self._test_tasks:
            await asyncio.wait(set(self._test_tasks), timeout=timeout_s)

    # --- the API -----------------------------------------------------------------------------

    async def _open(self, request: Request) -> tuple[Response | None, Any, dict[str, Any]]:
        early, body, _ = await self._guard(request)
        if early is not None:
            return early, body, {}
        workflow = self.workflows.get(request.path_params.get("wid", ""))
        if workflow is None and "wid" in request.path_params:
            return Response(status_code=404), body, {}
        return None, body, workflow or {}

    async def _list_workflows(self, request: Request) -> Response:
        early, _, _ = await self._open(request)
        if early is not None:
            return early
        data = [
            {"id": wid, "name": w["name"], "active": w["active"], "_links": _links(wid)}
            for wid, w in self.workflows.items()
        ]
        return JSONResponse({"data": data})

    async def _add_workflow(self, request: Request) -> Response:
        early, body, _ = await self._open(request)
        if early is not None:
            return early
        body = body or {}
        conditions, actions = body.get("conditions") or [], body.get("actions") or []
        problems = [*map(_condition_problem, conditions), *map(_action_problem, actions)]
        if not body.get("name") or not conditions or not actions or any(problems):
            return _invalid(*(p for p in problems if p), "workflow_invalid")
        wid = _wf_id("wf")
        self.workflows[wid] = {
            "name": body["name"],
            "active": body.get("active", True),
            "conditions": {_wf_id("wfc"): dict(c) for c in conditions},
            "actions": {_wf_id("wfa"): dict(a) for a in actions},
        }
        return JSONResponse({"id": wid, "_links": _links(wid)}, status_code=201)

    async def _get_workflow(self, request: Request) -> Response:
        early, _, workflow = await self._open(request)
        if early is not None:
            return early
        wid = request.path_params["wid"]
        return JSONResponse(
            {
                "id": wid,
                "name": workflow["name"],
                "active": workflow["active"],
                "conditions": [
                    {"id": cid, **c, "_links": _links(wid, "conditions", cid)}
                    for cid, c in workflow["conditions"].items()
                ],
                "actions": [
                    {"id": aid, **a, "_links": _links(wid, "actions", aid)}
                    for aid, a in workflow["actions"].items()
                ],
                "_links": _links(wid),
            }
        )

    async def _patch_workflow(self, request: Request) -> Response:
        early, body, workflow = await self._open(request)
        if early is not None:
            return early
        for name in ("name", "active"):
            if name in (body or {}):
                workflow[name] = body[name]
        return JSONResponse({"name": workflow["name"], "active": workflow["active"]})

    async def _add_condition(self, request: Request) -> Response:
        return await self._add_item(request, "conditions", _condition_problem)

    async def _add_action(self, request: Request) -> Response:
        return await self._add_item(request, "actions", _action_problem)

    async def _put_condition(self, request: Request) -> Response:
        return await self._put_item(request, "conditions", "cid", _condition_problem)

    async def _put_action(self, request: Request) -> Response:
        return await self._put_item(request, "actions", "aid", _action_problem)

    async def _add_item(self, request: Request, kind: str, problem: Any) -> Response:
        early, body, workflow = await self._open(request)
        if early is not None:
            return early
        if reason := problem(body or {}):
            return _invalid(reason)
        item_id = _wf_id("wfc" if kind == "conditions" else "wfa")
        workflow[kind][item_id] = dict(body)
        links = _links(request.path_params["wid"], kind, item_id)
        return JSONResponse({"id": item_id, "_links": links}, status_code=201)

    async def _put_item(self, request: Request, kind: str, param: str, problem: Any) -> Response:
        early, body, workflow = await self._open(request)
        if early is not None:
            return early
        item_id = request.path_params[param]
        if item_id not in workflow[kind]:
            return Response(status_code=404)
        if reason := problem(body or {}):
            return _invalid(reason)
        workflow[kind][item_id] = dict(body)
        return Response(status_code=200)

    async def _test_workflow(self, request: Request) -> Response:
        early, body, workflow = await self._open(request)
        if early is not None:
            return early
        types = (body or {}).get("event_types")
        selected = {
            t
            for c in workflow["conditions"].values()
            if c.get("type") == "event"
            for ts in (c.get("events") or {}).values()
            for t in ts
        }
        if not isinstance(types, list) or not types or not set(types) <= selected:
            return _invalid("event_types_invalid")
        for action in workflow["actions"].values():
            if action.get("type") == "webhook":
                for event_type in types:
                    task = asyncio.get_running_loop().create_task(
                        self._post_test_event(action, event_type)
                    )
                    self._test_tasks.add(task)
                    task.add_done_callback(self._test_tasks.discard)
        return Response(status_code=204)

    async def _post_test_event(self, action: dict[str, Any], event_type: str) -> None:
        event = _test_event(event_type)
        raw = json.dumps(event).encode()
        headers = {"Content-Type": "application/json", **(action.get("headers") or {})}
        signature = action.get("signature") or {}
        if signature.get("key"):
            headers["Cko-Signature"] = compute_signature(raw, signature["key"])
        record = SentTestEvent(event["id"], event_type, action["url"], None)
        self.sent_test_events.append(record)
        try:
            async with httpx.AsyncClient(transport=self.workflow_transport, timeout=10) as http:
                response = await http.post(action["url"], content=raw, headers=headers)
        except httpx.TransportError as exc:
            _log.info("sandbox.workflow.test.unreachable", url=action["url"], error=str(exc))
            return
        record.http_status = response.status_code


def _links(wid: str, kind: str | None = None, item_id: str | None = None) -> dict[str, Any]:
    path = f"/workflows/{wid}" + (f"/{kind}/{item_id}" if kind else "")
    return {"self": {"href": _API + path}}


def _condition_problem(condition: dict[str, Any]) -> str | None:
    if condition.get("type") != "event":
        return None  # entity and processing-channel conditions are kept as given
    events = condition.get("events")
    ok = isinstance(events, dict) and events and all(isinstance(v, list) for v in events.values())
    return None if ok else "events_invalid"


def _action_problem(action: dict[str, Any]) -> str | None:
    if action.get("type") != "webhook":
        return "action_type_invalid"
    if not action.get("url"):
        return "url_required"
    signature = action.get("signature")
    if signature is not None and not (isinstance(signature, dict) and signature.get("key")):
        return "signature_key_required"
    return None


def _test_event(event_type: str) -> dict[str, Any]:
    """A test event of the documented layout, about a payment or dispute that does not exist."""
    if event_type.startswith("dispute_"):
        dispute = {
            "id": "dsp_" + "".join(secrets.choice(_BASE32) for _ in range(22)),
            "category": "general",
            "amount": 1000,
            "currency": "GBP",
            "reason_code": "10.4",
            "evidence_required_by": "2030-01-01T00:00:00Z",
            "received_on": "2029-12-01T00:00:00Z",
        }
        return dispute_event(event_type, dispute, reference="workflow-test")
    return payment_event(
        event_type,
        payment_id=cko_id("pay"),
        amount=1000,
        currency="GBP",
        reference="workflow-test",
        metadata={},
        source_type="card",
        action_id=cko_id("act"),
    )
