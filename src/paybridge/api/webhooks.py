"""`POST /v1/webhooks/checkout`: Checkout.com webhook delivery (signed with HMAC-SHA256)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from paybridge.api.deps import read_limited_body
from paybridge.api.responses import error_responses
from paybridge.container import Container


class _PlainRoute(APIRoute):
    """Documented like any route, served as a plain Starlette endpoint: the handler takes the
    request and returns its response, so FastAPI solves no parameters and serializes no model
    for each delivery (the route is the busiest one)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return handler


router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=_PlainRoute)


class WebhookAck(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: str = Field(
        description="accepted | duplicate | ignored (unknown type) | quarantined (unreadable)"
    )
    event_id: str


_HEADERS = [
    {
        "name": "Cko-Signature",
        "in": "header",
        "required": True,
        "description": "Lowercase hex HMAC-SHA256 of the raw body with the signature key.",
        "schema": {"type": "string"},
    },
    {
        "name": "Authorization",
        "in": "header",
        "required": False,
        "description": "The static key configured on the webhook, if any.",
        "schema": {"type": "string"},
    },
]


# Checkout.com's documented event layout (id, type, version, created_on, data, _links).
_EVENT_EXAMPLE = {
    "id": "evt_az5sblvku4ge3dwpztvyizgcau",
    "type": "payment_captured",
    "version": "1.0.29",
    "created_on": "2026-11-28T11:56:04.8821546Z",
    "data": {
        "id": "pay_mbabizu24mvu3mela5njyhpit4",
        "action_id": "act_fd3h6evhpn3uxdoqbuu3lqnqbm",
        "amount": 14990,
        "currency": "EUR",
        "reference": "00000100",
        "response_code": "10000",
        "response_summary": "Approved",
        "processed_on": "2026-11-28T11:56:04.8821546Z",
    },
    "_links": {"self": {"href": "https://api.sandbox.checkout.com/workflows/events/x"}},
}


@router.post(
    "/checkout",
    summary="Receive a Checkout.com webhook",
    operation_id="receiveCheckoutWebhook",
    description="Checkout.com delivers events here (at least once, in any order). The event is "
    "stored before the 200; duplicates, unknown types and unreadable bodies are acknowledged "
    "too, so Checkout.com never retries what cannot improve.",
    response_model=WebhookAck,
    responses=error_responses(401, 413),
    openapi_extra={
        "parameters": _HEADERS,
        "requestBody": {
            "required": True,
            "description": "The event exactly as Checkout.com sent it; the signature covers "
            "these raw bytes.",
            "content": {
                "application/json": {"schema": {"type": "object"}, "example": _EVENT_EXAMPLE}
            },
        },
    },
)
async def receive_checkout_webhook(request: Request) -> Response:
    # The hottest route (`_PlainRoute`): headers are read directly and the answer is written
    # without response-model validation (`response_model` only documents it).
    container = request.app.state.container
    assert isinstance(container, Container)
    raw = await read_limited_body(request, container.settings.max_webhook_body_bytes)
    container.webhooks.authenticate(
        raw,
        signature=request.headers.get("cko-signature"),
        authorization=request.headers.get("authorization"),
    )
    receipt = await container.webhooks.receive(raw)
    return JSONResponse({"status": receipt.status, "event_id": receipt.event_id})


# The one route `create_app` registers (the router only builds it, with its documentation).
(ROUTE,) = router.routes
