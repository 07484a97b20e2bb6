"""Work a dispute from Salesforce: accept it, upload evidence files, save and submit evidence.

Each call runs like every mutating call: claim the Idempotency-Key, check the dispute's state
(refusals are stored and replayed), then `CheckoutFlow`: call Checkout.com with no
transaction open, record the outcome with the stored response in one transaction; a final
refusal is stored and replayed, any other failure gives the key back for the caller's retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import RowMapping

from paybridge.adapters.checkout.client import CheckoutCallRecord
from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.domain.clock import Clock
from paybridge.domain.disputes import DisputeStatus, evidence_refusal, parse_status
from paybridge.domain.evidence import EvidenceFileType
from paybridge.errors import Conflict, NotFound, to_envelope
from paybridge.mapping.checkout_disputes import DisputeRecord
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.schemas.disputes import EvidenceFileRead, EvidenceRead, EvidenceUpdate
from paybridge.services.audit import log_row
from paybridge.services.checkout_flow import Calls, CheckoutFlow, CheckoutStep, Recorded
from paybridge.services.dispute_fold import fold_dispute
from paybridge.services.disputes import DisputeService, load_dispute_read
from paybridge.services.idempotency import Claim, IdempotencyService, StoredResponse, fingerprint
from paybridge.services.ports import CheckoutDisputes

_log = structlog.get_logger(__name__)

_REFUSALS = {
    "dispute_decided": "The dispute has been decided: it can no longer be accepted or "
    "answered with evidence.",
    "dispute_not_open": "Evidence was already submitted for this dispute: it is not open "
    "for evidence or acceptance any more.",
    "evidence_deadline_passed": "The deadline for evidence (evidence_required_by) has passed.",
}


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """An uploaded file whose type and size the caller has already checked."""

    filename: str
    content: bytes
    content_type: EvidenceFileType

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class _Call:
    """One dispute operation: its name, what identifies the request, the Checkout.com call,
    the status Checkout.com's success implies, and the response to store."""

    operation: str
    request: dict[str, Any]
    send: Callable[[Claim, str | None], Awaitable[Any]]
    respond: Callable[[UnitOfWork, RowMapping, Any], Awaitable[StoredResponse]]
    implies: DisputeStatus | None = None


def state_refusal(row: RowMapping, now: datetime) -> Conflict | None:
    """The 409 a dispute in this state gets for accept and evidence calls, or None."""
    status = parse_status(row["status"])
    if status is None:  # pragma: no cover - only known statuses are stored
        return Conflict("The dispute's status is unknown.", code="dispute_not_open")
    code = evidence_refusal(status, row["evidence_required_by"], now)
    if code is None:
        return None
    return Conflict(
        _REFUSALS[code],
        code=code,
        extra={"status": status.value},
    )


class DisputeActionService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        checkout: CheckoutDisputes,
        idempotency: IdempotencyService,
        clock: Clock,
        disputes: DisputeService,
    ) -> None:
        self._uow = uow
        self._checkout = checkout
        self._idempotency = idempotency
        self._clock = clock
        self._disputes = disputes
        self._flow = CheckoutFlow(uow=uow, idempotency=idempotency, clock=clock)

    async def accept(
        self, dispute_id: str, *, idempotency_key: str, correlation_id: str | None
    ) -> StoredResponse:
        async def send(claim: Claim, secret_key: str | None) -> None:
            await self._checkout.accept_dispute(
                dispute_id, idempotency_key=claim.checkout_key, secret_key=secret_key
            )

        call = _Call(
            "disputes.accept", {}, send, self._dispute_response(202), DisputeStatus.ACCEPTED
        )
        return await self._run(dispute_id, call, idempotency_key, correlation_id)

    async def save_evidence(
        self,
        dispute_id: str,
        evidence: EvidenceUpdate,
        *,
        idempotency_key: str,
        correlation_id: str | None,
    ) -> StoredResponse:
        wire = evidence.to_wire()

        async def send(_claim: Claim, secret_key: str | None) -> None:
            await self._checkout.provide_dispute_evidence(dispute_id, wire, secret_key=secret_key)

        async def respond(uow: UnitOfWork, row: RowMapping, _result: Any) -> StoredResponse:
            dispute = await load_dispute_read(uow, row, now=self._clock())
            body = EvidenceRead(dispute_id=dispute_id, evidence=wire, dispute=dispute)
            return StoredResponse(200, body.model_dump(mode="json"))

        return await self._run(
            dispute_id,
            _Call("disputes.evidence", wire, send, respond),
            idempotency_key,
            correlation_id,
        )

    async def upload_file(
        self,
        dispute_id: str,
        upload: EvidenceFile,
        *,
        idempotency_key: str,
        correlation_id: str | None,
    ) -> StoredResponse:
        async def send(_claim: Claim, secret_key: str | None) -> str:
            uploaded = await self._checkout.upload_file(
                upload.filename, upload.content, upload.content_type.value, secret_key=secret_key
            )
            return uploaded.id

        async def respond(_uow: UnitOfWork, _row: RowMapping, file_id: Any) -> StoredResponse:
            body = EvidenceFileRead(
                file_id=str(file_id),
                dispute_id=dispute_id,
                filename=upload.filename,
                content_type=upload.content_type,
                size_bytes=len(upload.content),
            )
            return StoredResponse(201, body.model_dump(mode="json"))

        request = {
            "filename": upload.filename,
            "content_type": upload.content_type.value,
            "sha256": upload.digest,
        }
        return await self._run(
            dispute_id,
            _Call("disputes.file", request, send, respond),
            idempotency_key,
            correlation_id,
        )

    async def submit_evidence(
        self, dispute_id: str, *, idempotency_key: str, correlation_id: str | None
    ) -> StoredResponse:
        async def send(_claim: Claim, secret_key: str | None) -> None:
            await self._checkout.submit_dispute_evidence(dispute_id, secret_key=secret_key)

        call = _Call(
            "disputes.evidence.submit",
            {},
            send,
            self._dispute_response(202),
            DisputeStatus.EVIDENCE_UNDER_REVIEW,
        )
        return await self._run(dispute_id, call, idempotency_key, correlation_id)

    # --- the phases ------------------------------------------------------------------------

    def _dispute_response(
        self, status_code: int
    ) -> Callable[[UnitOfWork, RowMapping, Any], Awaitable[StoredResponse]]:
        async def respond(uow: UnitOfWork, row: RowMapping, _result: Any) -> StoredResponse:
            dispute = await load_dispute_read(uow, row, now=self._clock())
            return StoredResponse(status_code, dispute.model_dump(mode="json"))

        return respond

    async def _run(
        self, dispute_id: str, call: _Call, key: str, correlation_id: str | None
    ) -> StoredResponse:
        async with self._uow() as uow:  # 404 before a key is spent on an unknown dispute
            if await uow.disputes.get(dispute_id) is None:
                raise NotFound(f"No dispute {dispute_id}.", code="dispute_not_found")
        claim = await self._idempotency.begin(
            key=key,
            operation=call.operation,
            request_fingerprint=fingerprint(
                call.operation, {"dispute": dispute_id, **call.request}
            ),
        )
        if isinstance(claim, StoredResponse):
            return claim
        async with self._uow() as uow:
            row = await uow.disputes.get(dispute_id)
        assert row is not None  # disputes are never deleted
        refusal = state_refusal(row, self._clock())
        if refusal is not None:
            await self._idempotency.finish_alone(
                claim, StoredResponse(refusal.http_status, to_envelope(refusal, correlation_id))
            )
            raise refusal
        secret_key = await self._disputes.secret_key_for(dispute_id, row["checkout_payment_id"])
        result = await self._flow.run(
            claim,
            self._step(claim, call, row, secret_key, correlation_id),
            correlation_id=correlation_id,
        )
        if isinstance(result, CheckoutError):
            raise result
        return result

    def _step(
        self,
        claim: Claim,
        call: _Call,
        before: RowMapping,
        secret_key: str | None,
        correlation_id: str | None,
    ) -> CheckoutStep[Any]:
        dispute_id = str(before["id"])

        async def succeeded(uow: UnitOfWork, result: Any, calls: Calls) -> Recorded:
            now = self._clock()
            row: RowMapping | None = before
            if call.implies is not None:
                # Checkout.com answered 204: the dispute moved; its webhook will confirm it.
                row = await fold_dispute(
                    uow,
                    DisputeRecord(id=dispute_id),
                    call.implies,
                    now=now,
                    cause=call.operation,
                )
            else:
                row = await uow.disputes.get(dispute_id)
            assert row is not None
            await uow.logs.add(self._log_row(call, row, calls, now, correlation_id))
            _log.info("checkout.dispute.action", operation=call.operation, dispute_id=dispute_id)
            return Recorded(await call.respond(uow, row, result))

        async def failed(uow: UnitOfWork, error: CheckoutError, calls: Calls, _final: bool) -> None:
            now = self._clock()
            await uow.logs.add(self._log_row(call, before, calls, now, correlation_id, error=error))

        return CheckoutStep(
            send=lambda: call.send(claim, secret_key), succeeded=succeeded, failed=failed
        )

    @staticmethod
    def _log_row(
        call: _Call,
        row: RowMapping,
        calls: Sequence[CheckoutCallRecord],
        now: datetime,
        correlation_id: str | None,
        *,
        error: CheckoutError | None = None,
    ) -> dict[str, Any]:
        return log_row(
            list(calls),
            operation=call.operation,
            now=now,
            correlation_id=correlation_id,
            payment_id=row["payment_id"],
            checkout_payment_id=row["checkout_payment_id"],
            error_code=error.code if error is not None else None,
            message=error.message if error is not None else None,
            summary={"dispute_id": row["id"]},
        )
