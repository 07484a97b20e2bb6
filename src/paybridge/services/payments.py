"""Create a Checkout.com payment from Salesforce order context, exactly once per key.

Phases, each its own short transaction: (1) claim the Idempotency-Key, (2) call
Checkout.com with the derived Cko-Idempotency-Key — no transaction open, (3) record the
payment, its authorization, the audit log, the Salesforce sync task and the stored response
together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from paybridge.adapters.checkout.errors import CheckoutError, CheckoutValidationError
from paybridge.adapters.checkout.models import PaymentResponse
from paybridge.domain.clock import Clock
from paybridge.domain.facts import ActionFact
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.errors import to_envelope
from paybridge.mapping.checkout_payments import PaymentOptions, to_payment_request
from paybridge.mapping.field_map import FieldMap
from paybridge.mapping.orders import OrderContext, to_order_context
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.schemas.payments import PaymentCreate, PaymentList, PaymentRead
from paybridge.services.audit import collecting, log_row
from paybridge.services.idempotency import Claim, IdempotencyService, StoredResponse, fingerprint
from paybridge.services.ledger import apply_facts
from paybridge.services.ports import CheckoutPayments
from paybridge.services.views import load_payment_read, read_of

_log = structlog.get_logger(__name__)

CREATE_OPERATION = "payments.create"


@dataclass(frozen=True, slots=True)
class PaymentDefaults:
    """Global payment settings, used where no market rule says otherwise."""

    processing_channel_id: str | None
    capture: bool = True
    three_ds: bool = False


def authorization_fact(response: PaymentResponse, *, amount_minor: int, claim: Claim) -> ActionFact:
    """The first ledger entry, from Checkout.com's answer to `POST /payments`."""
    status = response.status
    if response.approved is False or status == "Declined":
        outcome = ActionStatus.DECLINED
    elif status == "Pending":
        outcome = ActionStatus.PENDING
    else:
        outcome = ActionStatus.SUCCEEDED
    verification = status == "Card Verified" or amount_minor == 0
    return ActionFact(
        action_key=response.action_id or f"{response.id}:authorization",
        type=ActionType.CARD_VERIFICATION if verification else ActionType.AUTHORIZATION,
        status=outcome,
        amount_minor=response.amount if response.amount is not None else amount_minor,
        response_code=response.response_code,
        response_summary=response.response_summary,
        processed_at=response.processed_on,
        source="api",
        idempotency_key_id=claim.record_id,
    )


def captured_fact(response: PaymentResponse, *, amount_minor: int) -> ActionFact | None:
    """An auto-captured card payment reports `Captured` on the 201: a capture happened too."""
    if response.status not in {"Captured", "Paid"}:
        return None
    return ActionFact(
        action_key=f"{response.id}:capture",
        type=ActionType.CAPTURE,
        status=ActionStatus.SUCCEEDED,
        amount_minor=response.amount if response.amount is not None else amount_minor,
        final=True,
        processed_at=response.processed_on,
        source="api",
    )


class PaymentService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        checkout: CheckoutPayments,
        idempotency: IdempotencyService,
        clock: Clock,
        field_map: FieldMap,
        defaults: PaymentDefaults,
    ) -> None:
        self._uow = uow
        self._checkout = checkout
        self._idempotency = idempotency
        self._clock = clock
        self._field_map = field_map
        self._defaults = defaults

    async def create(
        self,
        request: PaymentCreate,
        *,
        raw_body: dict[str, Any],
        idempotency_key: str,
        correlation_id: str | None,
    ) -> StoredResponse:
        ctx = to_order_context(request.order, request.customer, self._field_map)
        claim = await self._idempotency.begin(
            key=idempotency_key,
            operation=CREATE_OPERATION,
            request_fingerprint=fingerprint(CREATE_OPERATION, raw_body),
        )
        if isinstance(claim, StoredResponse):
            return claim
        options = PaymentOptions(
            processing_channel_id=self._defaults.processing_channel_id,
            capture=self._defaults.capture if request.capture is None else request.capture,
            three_ds=self._defaults.three_ds if request.three_ds is None else request.three_ds,
            payment_record_id=claim.record_id,
            success_url=request.success_url,
            failure_url=request.failure_url,
        )
        wire = to_payment_request(ctx, request.payment_method, options)

        with collecting() as calls:
            try:
                response = await self._checkout.create_payment(
                    wire, idempotency_key=claim.checkout_key
                )
            except CheckoutError as error:
                await self._record_failure(claim, error, calls, correlation_id=correlation_id)
                raise
        return await self._record_success(
            claim,
            response,
            ctx=ctx,
            payment_method=request.payment_method.type,
            calls=calls,
            correlation_id=correlation_id,
        )

    async def _record_failure(
        self,
        claim: Claim,
        error: CheckoutError,
        calls: Sequence[Any],
        *,
        correlation_id: str | None,
    ) -> None:
        """Transient failures leave the key resumable; final refusals are stored for replay."""
        now = self._clock()
        async with self._uow() as uow:
            await uow.logs.add(
                log_row(
                    list(calls),
                    operation=CREATE_OPERATION,
                    now=now,
                    correlation_id=correlation_id,
                    error_code=error.code,
                    message=error.message,
                )
            )
            if isinstance(error, CheckoutValidationError):
                # Final: the same body would be refused again, so the refusal is replayed.
                stored = StoredResponse(error.http_status, to_envelope(error, correlation_id))
                await self._idempotency.finish(uow, claim, stored)
            else:
                # Unknown outcome or our misconfiguration: the caller's retry resumes the key.
                await uow.idempotency.release(claim.record_id, now=now)
            await uow.commit()
        _log.warning("payment.create.failed", code=error.code, cko_request_id=error.request_id)

    async def _record_success(
        self,
        claim: Claim,
        response: PaymentResponse,
        *,
        ctx: OrderContext,
        payment_method: str,
        calls: Sequence[Any],
        correlation_id: str | None,
    ) -> StoredResponse:
        now = self._clock()
        amount_minor = ctx.amount_minor
        facts = [authorization_fact(response, amount_minor=amount_minor, claim=claim)]
        capture = captured_fact(response, amount_minor=amount_minor)
        if capture is not None:
            facts.append(capture)
        async with self._uow() as uow:
            await uow.payments.insert_if_absent(
                {
                    "id": claim.record_id,
                    "checkout_payment_id": response.id,
                    "order_id": ctx.order_id,
                    "account_id": ctx.account_id,
                    "reference": response.reference or ctx.order_number,
                    "currency": ctx.currency,
                    "amount_minor": amount_minor,
                    "status": "Pending",
                    "metadata": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            # A webhook may have created the row first; either way we now hold its lock.
            payment = await uow.payments.get_by_checkout_id(response.id, for_update=True)
            assert payment is not None
            await apply_facts(
                uow,
                payment,
                facts,
                now=now,
                extra={
                    "order_id": payment["order_id"] or ctx.order_id,
                    "account_id": payment["account_id"] or ctx.account_id,
                    "approved": response.approved,
                    "response_code": response.response_code,
                    "response_summary": response.response_summary,
                    "redirect_url": response.redirect_url,
                    "payment_method": payment_method,
                    "card_last4": response.source.last4 if response.source else None,
                },
            )
            await uow.logs.add(
                log_row(
                    list(calls),
                    operation=CREATE_OPERATION,
                    now=now,
                    correlation_id=correlation_id,
                    payment_id=payment["id"],
                    checkout_payment_id=response.id,
                    action_id=response.action_id,
                    summary={"status": response.status, "approved": response.approved},
                )
            )
            fresh = await uow.payments.get(payment["id"])
            assert fresh is not None
            view = await read_of(uow, fresh)
            stored = StoredResponse(
                202 if response.status == "Pending" else 201, view.model_dump(mode="json")
            )
            await self._idempotency.finish(uow, claim, stored, payment_id=payment["id"])
            await uow.commit()
        _log.info(
            "checkout.payment.created",
            checkout_payment_id=response.id,
            status=response.status,
            approved=response.approved,
        )
        return stored

    async def get(self, checkout_payment_id: str) -> PaymentRead:
        async with self._uow() as uow:
            return await load_payment_read(uow, checkout_payment_id)

    async def list_for_order(self, order_id: str) -> PaymentList:
        async with self._uow() as uow:
            rows = await uow.payments.list_by_order(order_id)
            return PaymentList(payments=[await read_of(uow, row) for row in rows])
