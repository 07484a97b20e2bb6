"""`/v1/payments`: create a payment from Salesforce order context, read payments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from paybridge.api.deps import (
    ContainerDep,
    OrderIdQuery,
    correlation_id,
    idempotency_key,
    json_body,
    require_api_key,
)
from paybridge.api.openapi import json_request_body
from paybridge.api.responses import MUTATING_ERRORS, READ_ERRORS
from paybridge.schemas.payments import PaymentCreate, PaymentList, PaymentRead

router = APIRouter(
    prefix="/v1/payments", tags=["payments"], dependencies=[Depends(require_api_key)]
)


@router.post(
    "",
    summary="Create a payment from a Salesforce Order",
    operation_id="createPayment",
    description="Authorizes (and, by the market's capture mode, captures) the Order's total at "
    "Checkout.com. A retry with the same Idempotency-Key and body returns the first answer; "
    "the same key with another body is refused with 422.",
    status_code=201,
    response_model=PaymentRead,
    responses={
        201: {"description": "Processed: approved or declined (read `approved`, `status`)."},
        202: {"model": PaymentRead, "description": "Pending: send the shopper to `redirect_url`."},
        **MUTATING_ERRORS,
    },
    openapi_extra=json_request_body(PaymentCreate),
)
async def create_payment(
    request: Request,
    container: ContainerDep,
    key: Annotated[str, Depends(idempotency_key)],
) -> JSONResponse:
    body, raw = await json_body(request, PaymentCreate, limit=container.settings.max_body_bytes)
    result = await container.payments.create(
        body, raw_body=raw, idempotency_key=key, correlation_id=correlation_id(request)
    )
    return JSONResponse(result.body, status_code=result.status_code)


@router.get(
    "/{payment_id}",
    summary="Read a payment: state, amounts, actions, Salesforce sync",
    operation_id="getPayment",
    description="The payment as paybridge holds it, with every capture, void and refund "
    "requested on it and the disputes raised against it.",
    response_model=PaymentRead,
    responses=READ_ERRORS,
)
async def get_payment(payment_id: str, container: ContainerDep) -> PaymentRead:
    return await container.payments.get(payment_id)


@router.get(
    "",
    summary="List the payments of one Salesforce Order",
    operation_id="listPayments",
    description="Every payment created for the Order, oldest first.",
    response_model=PaymentList,
    responses=READ_ERRORS,
)
async def list_payments(
    container: ContainerDep,
    order_id: OrderIdQuery,
) -> PaymentList:
    return await container.payments.list_for_order(order_id)
