"""Create a Checkout.com payment from Salesforce order context, exactly once per key.

Phases, each its own short transaction: (1) claim the Idempotency-Key, (2) call
Checkout.com with the derived Cko-Idempotency-Key — no transaction open, (3) record the
payment, its authorization, the audit log, the Salesforce sync task and the stored response
together. Phases 2 and 3, and what each answer means, are `CheckoutFlow`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import structlog
from pydantic import SecretStr

from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.adapters.checkout.models import PaymentRequest, PaymentResponse
from paybridge.domain.clock import Clock
from paybridge.domain.ids import new_id
from paybridge.domain.markets import MarketBook, default_book
from paybridge.domain.payment_methods import KNOWN_METHODS
from paybridge.mapping.checkout_payments import to_payment_request
from paybridge.mapping.checkout_responses import authorization_fact, captured_fact
from paybridge.mapping.field_map import FieldMap
from paybridge.mapping.markets_file import market_secret_key
from paybridge.mapping.orders import BillingAddress, OrderContext, to_order_context
from paybridge.mapping.payment_plan import order_fields, plan_payment
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.schemas.payments import PaymentCreate, PaymentList, PaymentRead
from paybridge.services.audit import log_row
from paybridge.services.checkout_flow import (
    Calls,
    CheckoutFlow,
    CheckoutStep,
    Recorded,
    log_failure,
)
from paybridge.services.idempotency import (
    Claim,
    IdempotencyService,
    StoredResponse,
    fingerprint,
)
from paybridge.services.ledger import apply_facts_to
from paybridge.services.ports import CheckoutPayments
from paybridge.services.tasks import BatchHandler, Outcome, Task, one_by_one
from paybridge.services.views import load_payment_read, order_read, read_of

_log = structlog.get_logger(__name__)

CREATE_OPERATION = "payments.create"
RECOVER_TASK = "payments.recover_create"


class _Prepared(NamedTuple):
    """The order context and Checkout.com request of one create."""

    ctx: OrderContext
    wire: PaymentRequest

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> _Prepared:
        """Rebuilt from the claim's stored payload (a resumed create)."""
        context = dict(payload["context"])
        billing = context.pop("billing")
        ctx = OrderContext(**context, billing=BillingAddress(**billing) if billing else None)
        return cls(ctx, PaymentRequest.model_validate(payload["wire"]))


@dataclass(frozen=True, slots=True)
class PaymentDefaults:
    """Global payment settings: the one market used when there is no markets file."""

    processing_channel_id: str | None
    capture: bool = True
    three_ds: bool = False


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
        markets: MarketBook | None = None,
        market_secret_keys: Mapping[str, SecretStr] | None = None,
    ) -> None:
        self._uow = uow
        self._checkout = checkout
        self._idempotency = idempotency
        self._clock = clock
        self._field_map = field_map
        # No markets file: one market from the global settings, built once.
        self._markets = markets or default_book(
            processing_channel_id=defaults.processing_channel_id,
            methods=KNOWN_METHODS,
            capture=defaults.capture,
            three_ds=defaults.three_ds,
        )
        self._market_secret_keys = dict(market_secret_keys or {})
        self._flow = CheckoutFlow(uow=uow, idempotency=idempotency, clock=clock)

    @property
    def markets(self) -> MarketBook:
        """The markets in force (the global settings' one market without a markets file)."""
        return self._markets

    async def create(
        self,
        request: PaymentCreate,
        *,
        raw_body: dict[str, Any],
        idempotency_key: str,
        correlation_id: str | None,
    ) -> StoredResponse:
        ctx = to_order_context(request.order, request.customer, self._field_map)
        # Market and method rules refuse before the key is claimed: nothing to resume.
        plan = plan_payment(
            request,
            ctx,
            self._markets,
            fields=order_fields(request.order, request.customer, self._field_map),
        )
        record_id = new_id()
        wire = to_payment_request(ctx, request.payment_method, plan.options(record_id))
        claim = await self._idempotency.begin(
            key=idempotency_key,
            operation=CREATE_OPERATION,
            request_fingerprint=fingerprint(
                CREATE_OPERATION, raw_body, money=self._field_map.money_paths
            ),
            record_id=record_id,
            payload={
                "wire": wire.to_wire(),
                "context": asdict(ctx),
                "market": plan.market.key,
                "payment_method": request.payment_method.type,
            },
            recovery_task=RECOVER_TASK,
        )
        if isinstance(claim, StoredResponse):
            return claim
        # A fresh claim sends what was just built; a resumed one, what its first attempt stored.
        prepared = _Prepared(ctx, wire) if not claim.resumed else None
        result = await self._complete(claim, correlation_id=correlation_id, prepared=prepared)
        if isinstance(result, CheckoutError):
            raise result
        return result

    async def _complete(
        self, claim: Claim, *, correlation_id: str | None, prepared: _Prepared | None = None
    ) -> StoredResponse | CheckoutError:
        """Call Checkout.com with the request the claim stored — the first attempt's, when a
        retry or the worker resumes it — and record the outcome (`CheckoutFlow`'s rules)."""
        payload = claim.payload
        assert payload is not None
        ctx, wire = prepared or _Prepared.of(payload)
        market = self._markets.get(payload["market"])
        secret_key = market_secret_key(self._market_secret_keys, market.key if market else None)

        async def succeeded(uow: UnitOfWork, response: PaymentResponse, calls: Calls) -> Recorded:
            return await self._record_success(
                uow,
                claim,
                response,
                ctx=ctx,
                market_key=payload["market"],
                market_metadata=dict(market.metadata) if market is not None else {},
                payment_method=str(payload["payment_method"]),
                calls=calls,
                correlation_id=correlation_id,
            )

        step = CheckoutStep(
            send=lambda: self._checkout.create_payment(
                wire, idempotency_key=claim.checkout_key, secret_key=secret_key
            ),
            succeeded=succeeded,
            failed=log_failure(CREATE_OPERATION, clock=self._clock, correlation_id=correlation_id),
        )
        return await self._flow.run(claim, step, correlation_id=correlation_id)

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {RECOVER_TASK: one_by_one(self._recover_task)}

    async def _recover_task(self, task: Task) -> Outcome:
        return await self.recover(str(task.payload["idempotency_record_id"]))

    async def recover(self, record_id: str) -> Outcome:
        """Finish a create nobody retried (`CheckoutFlow.recover`); past Checkout.com's key
        window, the payment's own webhooks bring it in (created from the event)."""
        return await self._flow.recover(
            record_id,
            lambda claim: self._complete(claim, correlation_id=None),
            subject="payment",
        )

    async def _record_success(
        self,
        uow: UnitOfWork,
        claim: Claim,
        response: PaymentResponse,
        *,
        ctx: OrderContext,
        market_key: str,
        market_metadata: dict[str, Any],
        payment_method: str,
        calls: Sequence[Any],
        correlation_id: str | None,
    ) -> Recorded:
        now = self._clock()
        amount_minor = ctx.amount_minor
        facts = [
            authorization_fact(
                response, amount_minor=amount_minor, idempotency_key_id=claim.record_id
            )
        ]
        capture = captured_fact(response, amount_minor=amount_minor)
        if capture is not None:
            facts.append(capture)
        created = await uow.payments.insert_if_absent(
            {
                "id": claim.record_id,
                "checkout_payment_id": response.id,
                "order_id": ctx.order_id,
                "account_id": ctx.account_id,
                "reference": response.reference or ctx.order_number,
                "currency": ctx.currency,
                "amount_minor": amount_minor,
                "requested_minor": amount_minor,
                "status": "Pending",
                "market": market_key,
                # The market's reporting fields, for the Salesforce records.
                "metadata": market_metadata,
                "created_at": now,
                "updated_at": now,
            }
        )
        # A webhook may have created the row first; either way we now hold its lock.
        payment = created
        if payment is None:
            payment = await uow.payments.get_by_checkout_id(response.id, for_update=True)
        assert payment is not None
        # A row this transaction has just inserted has no actions, disputes or settlements
        # yet: nothing else can reference it before the commit.
        known_empty: list[Any] | None = [] if created is not None else None
        applied = await apply_facts_to(
            uow,
            payment,
            facts,
            now=now,
            actions=known_empty,
            extra={
                "requested_minor": amount_minor,
                "order_id": payment["order_id"] or ctx.order_id,
                "account_id": payment["account_id"] or ctx.account_id,
                "approved": response.approved,
                "response_code": response.response_code,
                "response_summary": response.response_summary,
                "redirect_url": response.redirect_url,
                "payment_method": payment_method,
                "market": payment["market"] or market_key,
                "card_last4": response.source.last4 if response.source else None,
                # Checkout.com's own expiry of the authorization wins over paybridge's rule.
                **(
                    {"authorization_expires_at": response.expires_on}
                    if response.expires_on is not None and response.approved
                    else {}
                ),
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
        view = await read_of(
            uow,
            applied.payment,
            actions=applied.actions,
            disputes=known_empty,
            settlements=known_empty,
        )
        stored = StoredResponse(
            202 if response.status == "Pending" else 201, view.model_dump(mode="json")
        )
        _log.info(
            "checkout.payment.created",
            checkout_payment_id=response.id,
            status=response.status,
            approved=response.approved,
        )
        return Recorded(stored, payment_id=str(payment["id"]))

    async def get(self, checkout_payment_id: str) -> PaymentRead:
        async with self._uow() as uow:
            return await load_payment_read(uow, checkout_payment_id)

    async def list_for_order(self, order_id: str) -> PaymentList:
        async with self._uow() as uow:
            rows = await uow.payments.list_by_order(order_id)
            return PaymentList(
                payments=[await read_of(uow, row) for row in rows], order=order_read(rows)
            )
