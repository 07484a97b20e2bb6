"""`POST /v1/webhooks/checkout`: Checkout.com webhook delivery (signed with HMAC-SHA256)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from paybridge.api.deps import ContainerDep, read_limited_body
from paybridge.api.responses import error_responses

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class WebhookAck(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: str = Field(
        description="accepted | duplicate | ignored (unknown type) | quarantined (unreadable)"
    )
    event_id: str


@router.post(
    "/checkout",
    summary="Receive a Checkout.com webhook",
    response_model=WebhookAck,
    responses=error_responses(401, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The event exactly as Checkout.com sent it; the signature covers "
            "these raw bytes.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_checkout_webhook(
    request: Request,
    container: ContainerDep,
    cko_signature: Annotated[
        str | None, Header(alias="Cko-Signature", description="Hex HMAC-SHA256 of the body.")
    ] = None,
    authorization: Annotated[
        str | None, Header(description="The static key configured on the webhook, if any.")
    ] = None,
) -> WebhookAck:
    raw = await read_limited_body(request, container.settings.max_webhook_body_bytes)
    container.webhooks.authenticate(raw, signature=cko_signature, authorization=authorization)
    receipt = await container.webhooks.receive(raw)
    return WebhookAck(status=receipt.status, event_id=receipt.event_id)
