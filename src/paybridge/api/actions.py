"""`/v1/payments/{payment_id}/captures|voids|refunds`: lifecycle actions from Salesforce."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from paybridge.api.deps import (
    ContainerDep,
    correlation_id,
    idempotency_key,
    json_body,
    require_api_key,
)
from paybridge.api.openapi import json_request_body
from paybridge.api.responses import MUTATING_ERRORS
from paybridge.schemas.actions import ActionAccepted, CaptureCreate, RefundCreate, VoidCreate
from paybridge.services.action_rules import ActionKind
from paybridge.services.gateway_notifications import GATEWAY_ORIGIN, ORIGIN_HEADER

router = APIRouter(
    prefix="/v1/payments/{payment_id}", tags=["lifecycle"], dependencies=[Depends(require_api_key)]
)

# Sent by the package's Commerce Payments gateway adapter: the org is then notified (signed)
# when Checkout.com settles the action. Any other value, or none, changes nothing.
Origin = Annotated[
    str | None,
    Header(
        alias=ORIGIN_HEADER,
        max_length=64,
        description=f"`{GATEWAY_ORIGIN}` when the Salesforce payment gateway adapter asks: "
        "paybridge then posts a signed gateway notification to the org once Checkout.com "
        "settles the action.",
    ),
]

_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Accepted by Checkout.com; the outcome arrives by webhook."}
}


async def _act(
    request: Request,
    container: ContainerDep,
    payment_id: str,
    *,
    key: str,
    kind: ActionKind,
    model: type[CaptureCreate | VoidCreate | RefundCreate],
    origin: str | None,
) -> JSONResponse:
    body, raw = await json_body(
        request, model, limit=container.settings.max_body_bytes, empty_is_object=True
    )
    assert isinstance(body, CaptureCreate | VoidCreate | RefundCreate)
    result = await container.actions.request(
        payment_id,
        kind,
        body,
        raw_body=raw,
        idempotency_key=key,
        correlation_id=correlation_id(request),
        from_gateway=origin == GATEWAY_ORIGIN,
    )
    return JSONResponse(result.body, status_code=result.status_code)


@router.post(
    "/captures",
    summary="Capture all or part of an authorization",
    operation_id="capturePayment",
    description="An empty body captures everything still capturable. Checkout.com answers "
    "202; the capture's outcome arrives by webhook and is written back to Salesforce. A "
    "`pay_…` paybridge never saw (a storefront's authorization) is first adopted from "
    "Checkout.com, for captures, voids and refunds alike.",
    status_code=202,
    response_model=ActionAccepted,
    responses={**_ACCEPTED, **MUTATING_ERRORS},
    openapi_extra=json_request_body(CaptureCreate),
)
async def capture(
    request: Request,
    container: ContainerDep,
    payment_id: str,
    key: Annotated[str, Depends(idempotency_key)],
    origin: Origin = None,
) -> JSONResponse:
    return await _act(
        request,
        container,
        payment_id,
        key=key,
        kind=ActionKind.CAPTURE,
        model=CaptureCreate,
        origin=origin,
    )


@router.post(
    "/voids",
    summary="Void an authorization (nothing captured yet)",
    operation_id="voidPayment",
    description="Releases the shopper's funds; refused with 409 once anything was captured.",
    status_code=202,
    response_model=ActionAccepted,
    responses={**_ACCEPTED, **MUTATING_ERRORS},
    openapi_extra=json_request_body(VoidCreate),
)
async def void(
    request: Request,
    container: ContainerDep,
    payment_id: str,
    key: Annotated[str, Depends(idempotency_key)],
    origin: Origin = None,
) -> JSONResponse:
    return await _act(
        request,
        container,
        payment_id,
        key=key,
        kind=ActionKind.VOID,
        model=VoidCreate,
        origin=origin,
    )


@router.post(
    "/refunds",
    summary="Refund all or part of the captured amount",
    operation_id="refundPayment",
    description="An empty body refunds everything still refundable. The outcome arrives by "
    "webhook and is written back to Salesforce.",
    status_code=202,
    response_model=ActionAccepted,
    responses={**_ACCEPTED, **MUTATING_ERRORS},
    openapi_extra=json_request_body(RefundCreate),
)
async def refund(
    request: Request,
    container: ContainerDep,
    payment_id: str,
    key: Annotated[str, Depends(idempotency_key)],
    origin: Origin = None,
) -> JSONResponse:
    return await _act(
        request,
        container,
        payment_id,
        key=key,
        kind=ActionKind.REFUND,
        model=RefundCreate,
        origin=origin,
    )
