"""`/v1/disputes`: read disputes, and accept or answer them with evidence from Salesforce."""

from __future__ import annotations

import posixpath
import re
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from paybridge.api.deps import (
    ContainerDep,
    correlation_id,
    idempotency_key,
    json_body,
    read_limited_body,
    require_api_key,
)
from paybridge.api.openapi import json_request_body
from paybridge.api.responses import MUTATING_ERRORS, READ_ERRORS
from paybridge.container import Container
from paybridge.domain.evidence import MAX_FILE_BYTES, EvidenceFileType, accepted_file_type
from paybridge.errors import (
    ErrorDetail,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from paybridge.schemas.disputes import (
    DisputeList,
    DisputeRead,
    EvidenceFileRead,
    EvidenceRead,
    EvidenceUpdate,
)
from paybridge.services.dispute_actions import DisputeActionService, EvidenceFile
from paybridge.services.disputes import DisputeService

router = APIRouter(
    prefix="/v1/disputes", tags=["disputes"], dependencies=[Depends(require_api_key)]
)

# Multipart framing around a 4 MB file stays far below this.
_UPLOAD_BODY_LIMIT = MAX_FILE_BYTES + 64 * 1024
_UNSAFE_FILENAME = re.compile(r"[^\w.\- ]")
_STATE_REFUSALS = (
    "409 `dispute_decided` (a decision was made), `dispute_not_open` (evidence already "
    "submitted) or `evidence_deadline_passed` (after `evidence_required_by`)."
)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The evidence: PDF, JPEG or PNG, at most 4 MB. Its "
                            "declared Content-Type must match its content.",
                        }
                    },
                },
                # OpenAPI 3.0.3 Encoding Object: the `file` part's own Content-Type.
                "encoding": {"file": {"contentType": ", ".join(EvidenceFileType)}},
                "examples": {
                    "deliveryNote": {
                        "summary": "A delivery note as a PDF",
                        "description": "Sent as `multipart/form-data; boundary=…` with one part: "
                        '`Content-Disposition: form-data; name="file"; '
                        'filename="delivery-note.pdf"` and `Content-Type: application/pdf`, '
                        "then the file's bytes.",
                        "value": {"file": "%PDF-1.7 … (the file's bytes)"},
                    }
                },
            }
        },
    }
}


def _disputes(container: Container) -> DisputeService:
    if container.disputes is None:  # pragma: no cover - build_container always wires it
        raise RuntimeError("dispute service is not wired")
    return container.disputes


def _actions(container: Container) -> DisputeActionService:
    if container.dispute_actions is None:  # pragma: no cover - build_container always wires it
        raise RuntimeError("dispute action service is not wired")
    return container.dispute_actions


@router.get(
    "/{dispute_id}",
    summary="Read a dispute and the payment it belongs to",
    operation_id="getDispute",
    description="The dispute as the latest Checkout.com event left it: reason, amount, "
    "evidence deadline and the evidence saved so far.",
    response_model=DisputeRead,
    responses=READ_ERRORS,
)
async def get_dispute(dispute_id: str, container: ContainerDep) -> DisputeRead:
    return await _disputes(container).get(dispute_id)


@router.get(
    "",
    summary="List the disputes of one payment",
    operation_id="listDisputes",
    description="Every dispute Checkout.com reported on the payment.",
    response_model=DisputeList,
    responses=READ_ERRORS,
)
async def list_disputes(
    container: ContainerDep,
    payment_id: Annotated[
        str,
        Query(
            pattern=r"^pay_\w{1,60}$",
            description="Checkout.com payment id; disputes on payments paybridge does not "
            "hold are listed too.",
        ),
    ],
) -> DisputeList:
    return await _disputes(container).list_for_payment(payment_id)


@router.post(
    "/{dispute_id}/accept",
    summary="Accept a dispute (the disputed amount stays with the cardholder)",
    operation_id="acceptDispute",
    description=f"Only while evidence is required and before the deadline; else {_STATE_REFUSALS}",
    status_code=202,
    response_model=DisputeRead,
    responses={202: {"description": "Accepted at Checkout.com."}, **MUTATING_ERRORS},
)
async def accept_dispute(
    request: Request,
    container: ContainerDep,
    dispute_id: str,
    key: Annotated[str, Depends(idempotency_key)],
) -> JSONResponse:
    result = await _actions(container).accept(
        dispute_id, idempotency_key=key, correlation_id=correlation_id(request)
    )
    return JSONResponse(result.body, status_code=result.status_code)


@router.put(
    "/{dispute_id}/evidence",
    summary="Save evidence (text and file ids) on a dispute, without submitting it",
    operation_id="saveDisputeEvidence",
    description="Checkout.com's field names: `<kind>_file` (a `file_…` id from `…/files`) and "
    f"`<kind>_text` (≤ 500 characters); at least one field. Refused with {_STATE_REFUSALS}",
    response_model=EvidenceRead,
    responses=MUTATING_ERRORS,
    openapi_extra=json_request_body(EvidenceUpdate),
)
async def save_evidence(
    request: Request,
    container: ContainerDep,
    dispute_id: str,
    key: Annotated[str, Depends(idempotency_key)],
) -> JSONResponse:
    body, _ = await json_body(request, EvidenceUpdate, limit=container.settings.max_body_bytes)
    result = await _actions(container).save_evidence(
        dispute_id, body, idempotency_key=key, correlation_id=correlation_id(request)
    )
    return JSONResponse(result.body, status_code=result.status_code)


@router.post(
    "/{dispute_id}/files",
    summary="Upload an evidence file; returns Checkout.com's file id",
    operation_id="uploadDisputeEvidenceFile",
    description="Multipart with one `file` part: PDF, JPEG or PNG, recognised by its first "
    "bytes *and* its declared type, at most 4 MB. Larger: 413 `file_too_large`; another type "
    f"or a mismatch: 415 `invalid_file_type`. Refused with {_STATE_REFUSALS}",
    status_code=201,
    response_model=EvidenceFileRead,
    responses={201: {"description": "Stored at Checkout.com."}, **MUTATING_ERRORS},
    openapi_extra=_UPLOAD_BODY,
)
async def upload_evidence_file(
    request: Request,
    container: ContainerDep,
    dispute_id: str,
    key: Annotated[str, Depends(idempotency_key)],
) -> JSONResponse:
    upload = await read_evidence_file(request)
    result = await _actions(container).upload_file(
        dispute_id, upload, idempotency_key=key, correlation_id=correlation_id(request)
    )
    return JSONResponse(result.body, status_code=result.status_code)


@router.post(
    "/{dispute_id}/evidence/submit",
    summary="Submit the saved evidence to the card scheme (final)",
    operation_id="submitDisputeEvidence",
    description=f"Only while evidence is required and before the deadline; else {_STATE_REFUSALS}",
    status_code=202,
    response_model=DisputeRead,
    responses={202: {"description": "Submitted to Checkout.com."}, **MUTATING_ERRORS},
)
async def submit_evidence(
    request: Request,
    container: ContainerDep,
    dispute_id: str,
    key: Annotated[str, Depends(idempotency_key)],
) -> JSONResponse:
    result = await _actions(container).submit_evidence(
        dispute_id, idempotency_key=key, correlation_id=correlation_id(request)
    )
    return JSONResponse(result.body, status_code=result.status_code)


# --- multipart ------------------------------------------------------------------------------


def _file_problem(code: str, message: str) -> list[ErrorDetail]:
    return [ErrorDetail(field="file", code=code, message=message)]


def _safe_filename(name: str | None, extension: str) -> str:
    base = posixpath.basename((name or "").replace("\\", "/")).strip()
    cleaned = _UNSAFE_FILENAME.sub("_", base)[:120].strip(" .")
    return cleaned or f"evidence.{extension}"


async def read_evidence_file(request: Request) -> EvidenceFile:
    """The `file` part of a multipart body, checked: size first, then type by content and
    declaration. Nothing is buffered beyond the size limit."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise UnsupportedMediaType(
            "Content-Type must be multipart/form-data.", code="unsupported_media_type"
        )
    raw = await read_limited_body(request, _UPLOAD_BODY_LIMIT)

    async def chunks() -> AsyncGenerator[bytes, None]:
        yield raw

    parser = MultiPartParser(request.headers, chunks(), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ValidationFailed(
            "The multipart body cannot be read.",
            code="malformed_multipart",
            details=_file_problem("malformed_multipart", exc.message[:200]),
        ) from exc
    try:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise ValidationFailed(
                "A multipart part named `file` is required.",
                code="validation_failed",
                details=_file_problem("missing", "no file part"),
            )
        content = await part.read()
        filename, declared = part.filename, part.content_type
    finally:
        await form.close()
    if len(content) > MAX_FILE_BYTES:
        raise PayloadTooLarge("Evidence files are limited to 4 MB.", code="file_too_large")
    if not content:
        raise ValidationFailed(
            "The file is empty.", code="validation_failed", details=_file_problem("empty", "empty")
        )
    kind = accepted_file_type(content, declared)
    if kind is None:
        raise UnsupportedMediaType(
            "Evidence must be a PDF, JPEG or PNG file, and declared as such.",
            code="invalid_file_type",
            details=_file_problem("invalid_file_type", f"declared {declared or 'nothing'}"[:100]),
        )
    extension = kind.value.rsplit("/", 1)[-1]
    return EvidenceFile(
        filename=_safe_filename(filename, extension), content=content, content_type=kind
    )
