"""Capture, void and refund a payment from Salesforce, exactly once per key.

Phases: (1) claim the Idempotency-Key; (2) under the payment's row lock, check the rules
against the ledger and *reserve* the amount as a Requested action — so two racing partial
refunds cannot together exceed what was captured; (3) call Checkout.com with the derived
Cko-Idempotency-Key, no transaction open; (4) record its action id, the audit log and the
stored response — (3) and (4) run through `CheckoutFlow`. A refusal by Checkout.com settles
the reservation as Declined; an unknown outcome keeps it, and the caller's retry (same key)
or the recovery task resumes it; a recovery that gives up settles it (`holds.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import SecretStr
from sqlalchemy import RowMapping

from paybridge.adapters.checkout.client import CheckoutCallRecord
from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.adapters.checkout.models import CaptureRequest, RefundRequest
from paybridge.domain.clock import Clock
from paybridge.domain.facts import ActionFact
from paybridge.domain.money import format_major
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.errors import Conflict, NotFound, ValidationFailed, to_envelope
from paybridge.mapping.checkout_actions import WIRE_MODELS, WireAction, to_wire
from paybridge.mapping.markets_file import market_secret_key
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.schemas.actions import ActionAccepted, CaptureCreate
from paybridge.services.action_rules import ActionBody, ActionKind, check_rules, requested_minor
from paybridge.services.audit import log_row
from paybridge.services.checkout_flow import (
    Calls,
    CheckoutFlow,
    CheckoutStep,
    Hold,
    Recorded,
)
from paybridge.services.gateway_notifications import (
    notify_when_settled,
    remember_gateway_request,
)
from paybridge.services.holds import abandon_request, hold_key, settle_hold
from paybridge.services.idempotency import (
    Claim,
    IdempotencyService,
    StoredResponse,
    fingerprint,
)
from paybridge.services.ledger import apply_facts, state_of
from paybridge.services.outages import is_outage
from paybridge.services.payment_adoption import PaymentAdoption
from paybridge.services.ports import CheckoutPayments
from paybridge.services.tasks import BatchHandler, Dead, Outcome, Task, one_by_one
from paybridge.services.views import read_of

_log = structlog.get_logger(__name__)


RECOVER_TASK = "payments.recover_action"


@dataclass(frozen=True, slots=True)
class Reservation:
    payment_row_id: str
    checkout_payment_id: str
    action_key: str
    amount_minor: int | None
    currency: str
    market: str | None = None


# What only the request knows about an action; the webhook that reports it lacks these.
_REQUEST_FIELDS = ("amount_minor", "final", "reference", "requested_at", "idempotency_key_id")


def reservation_key(claim: Claim) -> str:
    return hold_key(claim.record_id)


class ActionService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        checkout: CheckoutPayments,
        idempotency: IdempotencyService,
        clock: Clock,
        market_secret_keys: Mapping[str, SecretStr] | None = None,
        adoption: PaymentAdoption | None = None,
    ) -> None:
        self._uow = uow
        self._adoption = adoption
        self._checkout = checkout
        self._idempotency = idempotency
        self._clock = clock
        self._market_secret_keys = dict(market_secret_keys or {})
        self._flow = CheckoutFlow(uow=uow, idempotency=idempotency, clock=clock)

    async def request(
        self,
        checkout_payment_id: str,
        kind: ActionKind,
        body: ActionBody,
        *,
        raw_body: dict[str, Any],
        idempotency_key: str,
        correlation_id: str | None,
        from_gateway: bool = False,
    ) -> StoredResponse:
        """`from_gateway`: asked by the org's payment gateway adapter, which is notified once
        Checkout.com settles the action (gateway_notifications.py)."""
        operation = f"payments.{kind.value}"
        async with self._uow() as uow:  # 404 before a key is spent on an unknown payment
            known = await uow.payments.get_by_checkout_id(checkout_payment_id) is not None
        # A payment made elsewhere (a storefront's authorization) is adopted first.
        if not known and not (self._adoption and await self._adoption.adopt(checkout_payment_id)):
            raise NotFound(f"No payment {checkout_payment_id}.", code="payment_not_found")
        claim = await self._idempotency.begin(
            key=idempotency_key,
            operation=operation,
            request_fingerprint=fingerprint(
                operation, {"payment": checkout_payment_id, **raw_body}, money=("amount",)
            ),
        )
        if isinstance(claim, StoredResponse):
            return claim
        try:
            reservation, wire = await self._reserve(
                checkout_payment_id, kind, body, claim, from_gateway=from_gateway
            )
        except (Conflict, ValidationFailed) as refusal:
            await self._idempotency.finish_alone(
                claim, StoredResponse(refusal.http_status, to_envelope(refusal, correlation_id))
            )
            raise
        step = self._step(kind, reservation, wire, claim, correlation_id)
        result = await self._flow.run(claim, step, correlation_id=correlation_id)
        if isinstance(result, CheckoutError):
            raise result
        return result

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {RECOVER_TASK: one_by_one(self._recover_task)}

    async def _recover_task(self, task: Task) -> Outcome:
        record_id = str(task.payload["idempotency_record_id"])
        try:
            return await self.recover(record_id)
        except Exception as exc:
            if is_outage(exc) or not task.last_attempt:
                raise  # postponed, or retried: attempts remain
            # The last attempt failed too: recovery gives up, and so does the hold.
            _log.exception("checkout.action.recovery_failed", idempotency_record_id=record_id)
            reason = f"recovery failed on its last attempt: {type(exc).__name__}"
            await self._give_up(record_id, reason=reason)
            return Dead(reason)

    async def recover(self, record_id: str) -> Outcome:
        """Finish a request whose Checkout.com answer was lost and whose caller never retried
        (`CheckoutFlow.recover`). Past Checkout.com's key window (re-sending could act twice),
        or when Checkout.com refuses in a way recovery cannot fix, the hold is settled as
        Declined with the reason, logged and synced: the webhook of the action, should it
        have happened, still brings it into the ledger."""
        return await self._flow.recover(
            record_id,
            self._resume,
            subject="action",
            hold=Hold(held=self._held, give_up=self._give_up),
        )

    @staticmethod
    async def _held(uow: UnitOfWork, claim: Claim) -> bool:
        return await uow.payments.get_action(reservation_key(claim)) is not None

    async def _resume(self, claim: Claim) -> StoredResponse | CheckoutError:
        """Run the request's step again from what `_reserve` stored: its wire body and hold."""
        assert claim.payload is not None
        kind = ActionKind(claim.payload["kind"])
        wire = WIRE_MODELS[kind.value].model_validate(claim.payload["wire"])
        async with self._uow() as uow:
            held = await uow.payments.get_action(reservation_key(claim))
            assert held is not None  # the claim is ours: nothing settles the hold meanwhile
            payment = await uow.payments.get(held["payment_id"])
        assert payment is not None
        reservation = Reservation(
            payment_row_id=str(payment["id"]),
            checkout_payment_id=str(payment["checkout_payment_id"]),
            action_key=reservation_key(claim),
            amount_minor=held["amount_minor"],
            currency=str(payment["currency"]),
            market=payment["market"],
        )
        step = self._step(kind, reservation, wire, claim, None)
        return await self._flow.run(claim, step, correlation_id=None)

    async def _give_up(self, record_id: str, reason: str) -> None:
        async with self._uow() as uow:
            abandoned = await abandon_request(uow, record_id, reason=reason, now=self._clock())
            await uow.commit()
        if abandoned:
            _log.error("checkout.action.abandoned", idempotency_record_id=record_id, reason=reason)

    async def _reserve(
        self,
        checkout_payment_id: str,
        kind: ActionKind,
        body: ActionBody,
        claim: Claim,
        *,
        from_gateway: bool = False,
    ) -> tuple[Reservation, WireAction]:
        """Check the rules and hold the amount under the row lock (phase 2)."""
        now = self._clock()
        async with self._uow() as uow:
            payment = await uow.payments.get_by_checkout_id(checkout_payment_id, for_update=True)
            if payment is None:
                raise NotFound(f"No payment {checkout_payment_id}.", code="payment_not_found")
            currency = str(payment["currency"])
            key = reservation_key(claim)
            held = await uow.payments.get_action(key)
            if held is not None:  # a resumed request: the amount is already reserved
                amount = held["amount_minor"]
            else:
                state = state_of(payment, await uow.payments.list_actions(payment["id"]))
                amount = check_rules(kind, state, requested_minor(body, currency), currency)
                await apply_facts(
                    uow,
                    payment,
                    [
                        ActionFact(
                            action_key=key,
                            type=ActionType(kind.value),
                            status=ActionStatus.REQUESTED,
                            amount_minor=amount,
                            final=body.final if isinstance(body, CaptureCreate) else None,
                            reference=body.reference,
                            requested_at=now,
                            source="api",
                            idempotency_key_id=claim.record_id,
                        )
                    ],
                    now=now,
                )
            # Always the reserved amount, "the rest" included: left out, Checkout.com would
            # apply its own default (a refund's is the full payment amount).
            wire = to_wire(body, amount)
            await uow.idempotency.set_payload(
                claim.record_id,
                {"kind": kind.value, "payment_id": checkout_payment_id, "wire": wire.to_wire()},
            )
            # Committed with the hold: should this process die before recording the outcome
            # and the caller never retry, the worker still finishes the action (or finds the
            # stored response and does nothing).
            await self._idempotency.schedule_recovery(uow, RECOVER_TASK, claim.record_id, now=now)
            if from_gateway:
                await remember_gateway_request(
                    uow,
                    idempotency_key_id=claim.record_id,
                    checkout_payment_id=checkout_payment_id,
                    kind=kind.value,
                    now=now,
                )
            await uow.commit()
        return Reservation(
            payment["id"], checkout_payment_id, key, amount, currency, payment["market"]
        ), wire

    async def _call(
        self, kind: ActionKind, reservation: Reservation, wire: WireAction, claim: Claim
    ) -> Any:
        """The payment's market may have its own Checkout.com entity (secret key)."""
        key = claim.checkout_key
        pid = reservation.checkout_payment_id
        secret = market_secret_key(self._market_secret_keys, reservation.market)
        if isinstance(wire, CaptureRequest):
            return await self._checkout.capture(pid, wire, idempotency_key=key, secret_key=secret)
        if isinstance(wire, RefundRequest):
            return await self._checkout.refund(pid, wire, idempotency_key=key, secret_key=secret)
        return await self._checkout.void(pid, wire, idempotency_key=key, secret_key=secret)

    def _step(
        self,
        kind: ActionKind,
        reservation: Reservation,
        wire: WireAction,
        claim: Claim,
        correlation_id: str | None,
    ) -> CheckoutStep[Any]:
        operation = f"payments.{kind.value}"

        def log(
            calls: Sequence[CheckoutCallRecord],
            *,
            action_id: str | None = None,
            error: CheckoutError | None = None,
        ) -> dict[str, Any]:
            return log_row(
                list(calls),
                operation=operation,
                now=self._clock(),
                correlation_id=correlation_id,
                payment_id=reservation.payment_row_id,
                checkout_payment_id=reservation.checkout_payment_id,
                action_id=action_id,
                error_code=error.code if error is not None else None,
                message=error.message if error is not None else None,
            )

        async def succeeded(uow: UnitOfWork, accepted: Any, calls: Calls) -> Recorded:
            stored = await self._record(uow, kind, reservation, str(accepted.action_id))
            await uow.logs.add(log(calls, action_id=str(accepted.action_id)))
            return Recorded(stored, payment_id=reservation.payment_row_id)

        async def failed(uow: UnitOfWork, error: CheckoutError, calls: Calls, final: bool) -> None:
            payment = await self._locked(uow, reservation)
            await uow.logs.add(log(calls, error=error))
            held = await uow.payments.get_action(reservation.action_key)
            if final and held is not None:
                # Checkout.com refused: the hold is Declined, the refusal replayed.
                await settle_hold(uow, payment, held, reason=error.message, now=self._clock())

        return CheckoutStep(
            send=lambda: self._call(kind, reservation, wire, claim),
            succeeded=succeeded,
            failed=failed,
        )

    async def _record(
        self, uow: UnitOfWork, kind: ActionKind, reservation: Reservation, action_id: str
    ) -> StoredResponse:
        now = self._clock()
        payment = await self._locked(uow, reservation)
        held = await uow.payments.get_action(reservation.action_key)
        known = await uow.payments.get_action(action_id)
        if held is not None and known is None:
            # The reservation learns Checkout.com's action id (a webhook may confirm it later).
            await uow.payments.update_action(
                held["id"], {"checkout_action_id": action_id, "updated_at": now}
            )
        elif held is not None and known is not None:
            # The webhook was faster and created the action: it takes over what only the
            # request knew (a capture's `final` above all); the hold is then a duplicate.
            learned = {
                column: held[column]
                for column in _REQUEST_FIELDS
                if known[column] is None and held[column] is not None
            }
            merged = await uow.payments.update_action(known["id"], {**learned, "updated_at": now})
            await uow.payments.delete_action(held["id"])
            # Already settled by that webhook: its notification was not due until now.
            await notify_when_settled(uow, merged, now=now)
        await apply_facts(uow, payment, [], now=now, extra={"updated_at": now})
        fresh = await uow.payments.get(reservation.payment_row_id)
        assert fresh is not None
        accepted = ActionAccepted(
            action_id=action_id,
            type=ActionType(kind.value),
            amount=None
            if reservation.amount_minor is None
            else format_major(reservation.amount_minor, reservation.currency),
            status=ActionStatus.REQUESTED,
            payment=await read_of(uow, fresh),
        )
        _log.info(
            "checkout.action.requested",
            kind=kind.value,
            checkout_payment_id=reservation.checkout_payment_id,
            action_id=action_id,
        )
        return StoredResponse(202, accepted.model_dump(mode="json"))

    @staticmethod
    async def _locked(uow: UnitOfWork, reservation: Reservation) -> RowMapping:
        payment = await uow.payments.get_by_checkout_id(
            reservation.checkout_payment_id, for_update=True
        )
        assert payment is not None
        return payment
