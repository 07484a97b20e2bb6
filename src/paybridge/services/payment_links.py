"""Create Checkout.com Payment Links for Salesforce Orders, exactly once per key, and learn
what became of links still Active past their expiry.

Creation runs the shared claim → call → record flow (`CheckoutFlow`): the key is claimed
with the request to resend, Checkout.com is called with no transaction open, and the link,
its integration log and the stored response commit together. The payment made through a
link arrives by webhooks (`link_payments`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import structlog
from pydantic import SecretStr

from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.adapters.checkout.models import PaymentLinkCreated, PaymentLinkRequest
from paybridge.domain.clock import Clock
from paybridge.domain.ids import new_id
from paybridge.domain.markets import MarketBook
from paybridge.errors import NotFound
from paybridge.mapping.field_map import FieldMap
from paybridge.mapping.markets_file import market_secret_key
from paybridge.mapping.orders import to_order_context
from paybridge.mapping.payment_links import (
    LINK_STATUSES,
    link_read,
    plan_link,
    to_payment_link_request,
)
from paybridge.mapping.payment_plan import order_fields
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.schemas.payment_links import PaymentLinkCreate, PaymentLinkList, PaymentLinkRead
from paybridge.services.audit import log_row
from paybridge.services.checkout_flow import (
    Calls,
    CheckoutFlow,
    CheckoutStep,
    Recorded,
    log_failure,
)
from paybridge.services.idempotency import Claim, IdempotencyService, StoredResponse, fingerprint
from paybridge.services.ledger import enqueue_sync
from paybridge.services.link_payments import enqueue_link_sync
from paybridge.services.ports import CheckoutPaymentLinks
from paybridge.services.tasks import BatchHandler, Done, Outcome, Task, one_by_one

_log = structlog.get_logger(__name__)

CREATE_OPERATION = "payment_links.create"
RECOVER_TASK = "payment_links.recover_create"
EXPIRY_TASK = "payment_links.check_expired"
DEFAULT_EXPIRES_IN = timedelta(seconds=86_400)  # Checkout.com's default for `expires_in`


class PaymentLinkService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        checkout: CheckoutPaymentLinks,
        idempotency: IdempotencyService,
        clock: Clock,
        field_map: FieldMap,
        markets: MarketBook,
        market_secret_keys: Mapping[str, SecretStr] | None = None,
        expiry_check_every: timedelta = timedelta(minutes=15),
        expiry_batch: int = 50,
    ) -> None:
        self._uow = uow
        self._checkout = checkout
        self._idempotency = idempotency
        self._clock = clock
        self._field_map = field_map
        self._markets = markets
        self._market_secret_keys = dict(market_secret_keys or {})
        self._expiry_every = expiry_check_every
        self._expiry_batch = expiry_batch
        self._flow = CheckoutFlow(uow=uow, idempotency=idempotency, clock=clock)

    async def create(
        self,
        request: PaymentLinkCreate,
        *,
        raw_body: dict[str, Any],
        idempotency_key: str,
        correlation_id: str | None,
    ) -> StoredResponse:
        ctx = to_order_context(request.order, request.customer, self._field_map)
        fields = order_fields(request.order, request.customer, self._field_map)
        plan = plan_link(request, ctx, self._markets, fields=fields)  # refuses before the claim
        record_id = new_id()
        wire = to_payment_link_request(ctx, request, plan, link_record_id=record_id)
        claim = await self._idempotency.begin(
            key=idempotency_key,
            operation=CREATE_OPERATION,
            request_fingerprint=fingerprint(
                CREATE_OPERATION, raw_body, money=self._field_map.money_paths
            ),
            record_id=record_id,
            payload={
                "wire": wire.to_wire(),
                "order_id": ctx.order_id,
                "account_id": ctx.account_id,
                "market": plan.market.key,
            },
            recovery_task=RECOVER_TASK,
        )
        if isinstance(claim, StoredResponse):
            return claim
        result = await self._complete(claim, correlation_id=correlation_id)
        if isinstance(result, CheckoutError):
            raise result
        return result

    async def _complete(
        self, claim: Claim, *, correlation_id: str | None
    ) -> StoredResponse | CheckoutError:
        """Send the request the claim stored (the first attempt's, on a retry or recovery)."""
        payload = claim.payload
        assert payload is not None
        wire = PaymentLinkRequest.model_validate(payload["wire"])
        secret_key = market_secret_key(self._market_secret_keys, payload["market"])

        async def succeeded(
            uow: UnitOfWork, response: PaymentLinkCreated, calls: Calls
        ) -> Recorded:
            return await self._record(
                uow,
                claim,
                response,
                wire=wire,
                payload=payload,
                calls=calls,
                correlation_id=correlation_id,
            )

        step = CheckoutStep(
            send=lambda: self._checkout.create_payment_link(
                wire, idempotency_key=claim.checkout_key, secret_key=secret_key
            ),
            succeeded=succeeded,
            failed=log_failure(CREATE_OPERATION, clock=self._clock, correlation_id=correlation_id),
        )
        return await self._flow.run(claim, step, correlation_id=correlation_id)

    async def _record(
        self,
        uow: UnitOfWork,
        claim: Claim,
        response: PaymentLinkCreated,
        *,
        wire: PaymentLinkRequest,
        payload: dict[str, Any],
        calls: Calls,
        correlation_id: str | None,
    ) -> Recorded:
        now = self._clock()
        expires_in = timedelta(seconds=wire.expires_in) if wire.expires_in else DEFAULT_EXPIRES_IN
        await uow.payment_links.insert_if_absent(
            {
                "id": claim.record_id,
                "checkout_link_id": response.id,
                "order_id": payload["order_id"],
                "account_id": payload["account_id"],
                "reference": wire.reference,
                "currency": wire.currency,
                "amount_minor": wire.amount,
                "status": "Active",
                "url": response.url,
                "expires_at": response.expires_on or now + expires_in,
                "market": payload["market"],
                "created_at": now,
                "updated_at": now,
            }
        )
        await uow.logs.add(
            log_row(
                list(calls),
                operation=CREATE_OPERATION,
                now=now,
                correlation_id=correlation_id,
                summary={"checkout_link_id": response.id},
            )
        )
        row = await uow.payment_links.get(response.id)
        assert row is not None
        await enqueue_link_sync(uow, str(row["id"]), now=now)
        _log.info("checkout.payment_link.created", checkout_link_id=response.id)
        return Recorded(StoredResponse(201, link_read(row).model_dump(mode="json")))

    # --- reads ---------------------------------------------------------------------------------

    async def get(self, link_id: str) -> PaymentLinkRead:
        async with self._uow() as uow:
            row = await uow.payment_links.get(link_id)
        if row is None:
            raise NotFound(f"No payment link {link_id}.", code="payment_link_not_found")
        return link_read(row)

    async def list_for_order(self, order_id: str) -> PaymentLinkList:
        async with self._uow() as uow:
            rows = await uow.payment_links.list_by_order(order_id)
        return PaymentLinkList(links=[link_read(row) for row in rows])

    # --- background work -------------------------------------------------------------------------

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {
            RECOVER_TASK: one_by_one(self._recover_task),
            EXPIRY_TASK: one_by_one(self._check_expired_task),
        }

    async def _recover_task(self, task: Task) -> Outcome:
        return await self._flow.recover(
            str(task.payload["idempotency_record_id"]),
            lambda claim: self._complete(claim, correlation_id=None),
            subject="payment_link",
        )

    async def schedule_expiry_checks(self) -> None:
        """Make sure one expiry check is pending (coalesces across processes)."""
        async with self._uow() as uow:
            await uow.outbox.enqueue(EXPIRY_TASK, {}, now=self._clock(), dedupe_key=EXPIRY_TASK)
            await uow.commit()

    async def _check_expired_task(self, _task: Task) -> Outcome:
        await self.check_expired()
        now = self._clock()
        async with self._uow() as uow:
            await uow.outbox.enqueue(
                EXPIRY_TASK, {}, now=now, dedupe_key=EXPIRY_TASK, run_at=now + self._expiry_every
            )
            await uow.commit()
        return Done()

    async def _resync_payment(self, uow: UnitOfWork, checkout_payment_id: str) -> None:
        """The payment's sync writes its paid link; one paybridge has not seen yet will
        bring the link along when its webhook arrives."""
        payment = await uow.payments.get_by_checkout_id(checkout_payment_id)
        if payment is not None:
            await enqueue_sync(uow, str(payment["id"]), now=self._clock())

    async def check_expired(self) -> int:
        """Ask Checkout.com about links still Active past `expires_at` (a payment's webhook
        may be late, so its answer decides: Payment Received → Paid, Expired → Expired).
        Each call is made with no transaction open. Returns how many links changed."""
        async with self._uow() as uow:
            due = await uow.payment_links.list_expired_active(
                now=self._clock(), limit=self._expiry_batch
            )
        changed = 0
        for link in due:
            secret_key = market_secret_key(self._market_secret_keys, link["market"])
            details = await self._checkout.get_payment_link(
                link["checkout_link_id"], secret_key=secret_key
            )
            status = LINK_STATUSES.get(details.status)
            if status is None or status == "Active":
                continue
            values: dict[str, Any] = {"status": status, "updated_at": self._clock()}
            if status == "Paid" and details.payment_id:
                values["checkout_payment_id"] = details.payment_id
            async with self._uow() as uow:
                moved = await uow.payment_links.update_if_active(link["id"], values)
                if moved and status == "Expired":
                    await enqueue_link_sync(uow, str(link["id"]), now=self._clock())
                elif moved and details.payment_id:
                    await self._resync_payment(uow, details.payment_id)
                await uow.commit()
            if not moved:
                continue
            changed += 1
            _log.info(
                "payment_link.status_checked",
                checkout_link_id=link["checkout_link_id"],
                status=status,
            )
        return changed
