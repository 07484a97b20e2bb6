"""One flow for every Checkout.com call made on a caller's behalf: claim → call → settle → record.

Payment creation, captures/voids/refunds and dispute actions differ only in what they send
and what they record; the rules of what an answer means live here, once:
- success: the effect, its integration log and the stored response commit together;
- a refusal the same request would meet again (`is_final`): stored and replayed, and the
  operation settles what it reserved (a hold becomes Declined);
- anything else (no answer, 5xx, 401 after a key rotation…): the outcome is unknown, the key
  is given back, and the caller's retry — or the recovery task — resumes it with the same
  Cko-Idempotency-Key. What recovery does with each answer is `recovery_outcome`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from paybridge.adapters.checkout.client import CheckoutCallRecord
from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.domain.clock import Clock
from paybridge.errors import to_envelope
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.services.audit import collecting, log_row
from paybridge.services.idempotency import (
    CHECKOUT_KEY_WINDOW,
    Claim,
    IdempotencyService,
    StoredResponse,
)
from paybridge.services.outages import is_outage
from paybridge.services.tasks import Dead, Done, Outcome, Postpone, Retry

_log = structlog.get_logger(__name__)

T = TypeVar("T")
Calls = Sequence[CheckoutCallRecord]
FailureRecorder = Callable[[UnitOfWork, CheckoutError, Calls, bool], Awaitable[None]]


def is_final(error: CheckoutError) -> bool:
    """Checkout.com answered a 4xx the same request would get again (400, 403, 404, 422…;
    not 401, 408, 409 or 429): the request is over, its refusal is stored and replayed."""
    return error.is_refusal


@dataclass(frozen=True, slots=True)
class Recorded:
    """What an operation's success or failure recorded: the answer to store, and the
    payment it belongs to (None: none, or none yet)."""

    response: StoredResponse | None = None
    payment_id: str | None = None


@dataclass(frozen=True, slots=True)
class CheckoutStep(Generic[T]):
    """One operation's part of the flow. `succeeded` and `failed` run inside the flow's
    transaction; `failed` gets `final` (settle what was reserved) and must log the call."""

    send: Callable[[], Awaitable[T]]
    succeeded: Callable[[UnitOfWork, T, Calls], Awaitable[Recorded]]
    failed: FailureRecorder


def log_failure(operation: str, *, clock: Clock, correlation_id: str | None) -> FailureRecorder:
    """A `CheckoutStep.failed` for an operation that reserved nothing: the failed call's
    integration log only."""

    async def failed(uow: UnitOfWork, error: CheckoutError, calls: Calls, _final: bool) -> None:
        await uow.logs.add(
            log_row(
                list(calls),
                operation=operation,
                now=clock(),
                correlation_id=correlation_id,
                error_code=error.code,
                message=error.message,
            )
        )

    return failed


@dataclass(frozen=True, slots=True)
class Hold:
    """What a request reserved before calling Checkout.com (an action's amount), for its
    recovery: `held` tells whether it is still there (inside the recovery's read); when
    recovery gives up, `give_up(record_id, reason)` settles it and answers the request."""

    held: Callable[[UnitOfWork, Claim], Awaitable[bool]]
    give_up: Callable[[str, str], Awaitable[None]]


class CheckoutFlow:
    """Runs `CheckoutStep`s for one idempotency service."""

    def __init__(
        self, *, uow: UnitOfWorkFactory, idempotency: IdempotencyService, clock: Clock
    ) -> None:
        self._uow = uow
        self._idempotency = idempotency
        self._clock = clock

    async def run(
        self, claim: Claim, step: CheckoutStep[T], *, correlation_id: str | None
    ) -> StoredResponse | CheckoutError:
        """Call Checkout.com (no transaction open), then record the outcome in one
        transaction; returns the stored response, or the error the caller answers with."""
        with collecting() as calls:
            try:
                result = await step.send()
            except CheckoutError as error:
                await self._settle_failure(claim, step, error, calls, correlation_id)
                return error
        async with self._uow() as uow:
            recorded = await step.succeeded(uow, result, calls)
            assert recorded.response is not None
            await self._idempotency.finish(
                uow, claim, recorded.response, payment_id=recorded.payment_id
            )
            await uow.commit()
        return recorded.response

    async def recover(
        self,
        record_id: str,
        complete: Callable[[Claim], Awaitable[StoredResponse | CheckoutError]],
        *,
        subject: str,
        hold: Hold | None = None,
    ) -> Outcome:
        """Finish a request whose process died or whose answer was lost, and whose caller never
        retried, with the same Cko-Idempotency-Key (inside Checkout.com's 24 h window only;
        past it, the object's own webhooks still bring it in). `complete` runs the request's
        step from the claim's stored payload; `hold`: what it reserved, settled on giving up."""
        claim = await self._idempotency.resume(record_id)
        if isinstance(claim, StoredResponse):
            return Done()
        if claim is None:
            return Retry("request still in flight")
        if claim.payload is None:
            await self._idempotency.release(claim)
            return Dead("nothing to recover: no request was recorded")
        async with self._uow() as uow:
            record = await uow.idempotency.get(record_id)
            held = hold is None or await hold.held(uow, claim)
        assert record is not None
        if not held:
            await self._idempotency.release(claim)
            return Dead("nothing to recover: no amount was reserved for this request")
        if self._clock() - record["created_at"] > CHECKOUT_KEY_WINDOW:
            if hold is not None:
                reason = "Checkout.com's idempotency window passed before an answer"
                await hold.give_up(record_id, reason)
                return Done()
            await self._idempotency.release(claim)
            return Dead("Checkout.com idempotency window passed; the webhooks decide")
        result = await complete(claim)
        if isinstance(result, CheckoutError):
            # An outage is waited out; past a refusal or an answer recovery cannot fix, the
            # webhooks still bring the object in (and a hold is settled).
            outcome = recovery_outcome(result)
            if outcome is None and hold is not None:
                await hold.give_up(record_id, f"Checkout.com answered: {result.message}")
            return outcome or Done()
        _log.info(
            f"checkout.{subject}.recovered",
            idempotency_record_id=record_id,
            operation=claim.operation,
        )
        return Done()

    async def _settle_failure(
        self,
        claim: Claim,
        step: CheckoutStep[T],
        error: CheckoutError,
        calls: Calls,
        correlation_id: str | None,
    ) -> None:
        final = is_final(error)
        async with self._uow() as uow:
            await step.failed(uow, error, calls, final)
            if final:
                refusal = StoredResponse(error.http_status, to_envelope(error, correlation_id))
                await self._idempotency.finish(uow, claim, refusal)
            else:
                await uow.idempotency.release(claim.record_id, now=self._clock())
            await uow.commit()
        _log.warning(
            "checkout.call.failed",
            operation=claim.operation,
            code=error.code,
            final=final,
            cko_request_id=error.request_id,
        )


def recovery_outcome(error: CheckoutError) -> Outcome | None:
    """What a recovery task does after `run` answered `error`: wait out an outage (its
    attempts kept); stop on a refusal (stored, settled); None: Checkout.com refused in a way
    recovery cannot fix (401 after a key rotation, an unexpected answer) — give up."""
    if is_outage(error):
        return Postpone(error.message, whole_lane=error.is_transient)
    if is_final(error):
        return Done()
    return None
