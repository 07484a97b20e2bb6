"""Request plumbing shared by the routers: container, caller auth, headers, JSON bodies."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel, ValidationError

from paybridge.api.errors import request_id_of, validation_error
from paybridge.container import Container
from paybridge.domain.cards import find_card_numbers
from paybridge.domain.json_input import MAX_DEPTH, find_control_characters, nesting_exceeds
from paybridge.errors import (
    ErrorDetail,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

M = TypeVar("M", bound=BaseModel)

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,255}$")


async def get_container(request: Request) -> Container:
    container = request.app.state.container
    assert isinstance(container, Container)
    return container


ContainerDep = Annotated[Container, Depends(get_container)]

# A Salesforce Order Id (15 or 18 characters), the filter of every "of one Order" list.
OrderIdQuery = Annotated[
    str, Query(min_length=15, max_length=18, pattern=r"^[a-zA-Z0-9]+$", description="Order Id.")
]


async def require_api_key(
    container: ContainerDep,
    x_api_key: Annotated[
        str | None, Header(description="One of the keys in PAYBRIDGE_API_KEYS.")
    ] = None,
    authorization: Annotated[
        str | None,
        Header(description="`Bearer <JWT>` minted by Salesforce, when JWT callers are configured."),
    ] = None,
) -> None:
    """Authenticate the caller (API key or Salesforce JWT) before anything else runs."""
    container.caller_auth.authenticate(api_key=x_api_key, authorization=authorization)


async def idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="8–255 printable characters, unique per intended operation "
            "(e.g. a UUID stored on the Salesforce record before the callout).",
        ),
    ] = None,
) -> str:
    if idempotency_key is None:
        raise InvalidRequest(
            "The Idempotency-Key header is required.", code="idempotency_key_missing"
        )
    if not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise InvalidRequest(
            "Idempotency-Key must be 8–255 printable ASCII characters without spaces.",
            code="idempotency_key_invalid",
        )
    return idempotency_key


async def read_limited_body(request: Request, limit: int) -> bytes:
    """Read at most `limit` bytes; a larger body is refused before it is buffered whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Body exceeds {limit} bytes.", code="payload_too_large")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"Body exceeds {limit} bytes.", code="payload_too_large")
    return bytes(body)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in JSON object")
    return dict(pairs)


def _malformed(message: str) -> ValidationFailed:
    return ValidationFailed(
        "The body is not valid JSON.",
        code="malformed_json",
        details=[ErrorDetail(field="body", code="malformed_json", message=message[:200])],
    )


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """JSON with numbers as Decimal (money never passes through a float), nested at most
    `MAX_DEPTH` levels (checked before parsing, so no recursion limit is ever reached)."""
    if nesting_exceeds(raw):
        raise _malformed(f"arrays and objects nest deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(raw, parse_float=Decimal, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _malformed(str(exc)) from exc
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The body must be a JSON object.",
            code="validation_failed",
            details=[ErrorDetail(field="body", code="invalid_type", message="expected an object")],
        )
    return data


def refuse_card_data(data: object) -> None:
    """Anything PAN-like anywhere → 422; the field names it, the value is never echoed."""
    paths = list(find_card_numbers(data))
    if paths:
        raise ValidationFailed(
            "Card numbers must never be sent to paybridge: tokenize with Checkout.com.",
            code="card_data_rejected",
            details=[
                ErrorDetail(
                    field=path, code="card_data_rejected", message="looks like a card number"
                )
                for path in paths
            ],
        )


def refuse_control_characters(data: object) -> None:
    """NUL (which PostgreSQL text cannot hold) or another control character in any key or
    string → 422 naming the field; tab and line breaks are text."""
    paths = list(find_control_characters(data))
    if paths:
        raise ValidationFailed(
            "Text must not contain NUL or other control characters.",
            code="validation_failed",
            details=[
                ErrorDetail(
                    field=path, code="invalid_characters", message="contains a control character"
                )
                for path in paths
            ],
        )


async def json_body(
    request: Request, model: type[M], *, limit: int, empty_is_object: bool = False
) -> tuple[M, dict[str, Any]]:
    """Parse, guard and validate a JSON body; returns the model and the raw (Decimal) dict.

    With `empty_is_object`, no body at all means `{}` (a void, or "capture/refund the rest",
    sent with or without a Content-Type); any body that is there must be application/json.
    """
    raw = await read_limited_body(request, limit)
    if not raw and empty_is_object:
        data: dict[str, Any] = {}
    else:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise UnsupportedMediaType(
                "Content-Type must be application/json.", code="unsupported_media_type"
            )
        data = parse_json_object(raw)
        refuse_card_data(data)
        refuse_control_characters(data)
    try:
        return model.model_validate(data), data
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from exc  # type: ignore[arg-type]


def correlation_id(request: Request) -> str | None:
    return request_id_of(request)
