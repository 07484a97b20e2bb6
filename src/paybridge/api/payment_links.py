"""`/v1/payment-links`: a Checkout.com Payment Link for a Salesforce Order, and its state."""

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
from paybridge.schemas.payment_links import PaymentLinkCreate, PaymentLinkList, PaymentLinkRead

router = APIRouter(
    prefix="/v1/payment-links",
    tags=["payment links"],
    dependencies=[Depends(require_api_key)],
)


@router.post(
    "",
    operation_id="createPaymentLink",
    summary="Create a Payment Link for a Salesforce Order",
    description="Creates a Checkout.com Payment Link for the Order's total: send `url` to the "
    "shopper, who pays on Checkout.com's page. The market decides the processing channel, "
    "capture mode, 3-D Secure and the methods offered unless the request narrows them. The "
    "payment made through the link arrives by webhook and is linked to the link and the "
    "Order. Requires an `Idempotency-Key`: a retry with the same key and body replays the "
    "answer; a different body is a 422; a retry while the first is running is a 409.",
    status_code=201,
    response_model=PaymentLinkRead,
    responses={201: {"description": "The link, `Active`."}, **MUTATING_ERRORS},
    openapi_extra=json_request_body(PaymentLinkCreate),
)
async def create_payment_link(
    request: Request,
    container: ContainerDep,
    key: Annotated[str, Depends(idempotency_key)],
) -> JSONResponse:
    body, raw = await json_body(request, PaymentLinkCreate, limit=container.settings.max_body_bytes)
    result = await container.payment_links.create(
        body, raw_body=raw, idempotency_key=key, correlation_id=correlation_id(request)
    )
    return JSONResponse(result.body, status_code=result.status_code)


@router.get(
    "/{link_id}",
    operation_id="getPaymentLink",
    summary="Read a Payment Link: status, URL, expiry, the payment made through it",
    description="`status` is `Active` (payable; a declined try leaves it Active), `Paid` "
    "(`payment_id` names the approved payment) or `Expired`.",
    response_model=PaymentLinkRead,
    responses=READ_ERRORS,
)
async def get_payment_link(link_id: str, container: ContainerDep) -> PaymentLinkRead:
    return await container.payment_links.get(link_id)


@router.get(
    "",
    operation_id="listPaymentLinks",
    summary="List the Payment Links of one Salesforce Order",
    description="Oldest first.",
    response_model=PaymentLinkList,
    responses=READ_ERRORS,
)
async def list_payment_links(
    container: ContainerDep,
    order_id: OrderIdQuery,
) -> PaymentLinkList:
    return await container.payment_links.list_for_order(order_id)
