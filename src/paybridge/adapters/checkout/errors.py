"""Checkout.com failures as typed paybridge errors, parsed from responses or transport errors.

Each class also subclasses the paybridge error whose HTTP status the global handler must answer
with (listed first in the bases so its `http_status` wins):

CheckoutError                         upstream_status = what Checkout.com answered (None: no answer)
├── CheckoutValidationError     422   upstream 422              upstream_validation_failed
├── CheckoutActionNotAllowed    409   upstream 403              upstream_action_not_allowed
├── CheckoutNotFound            404   upstream 404              upstream_not_found
├── CheckoutAuthError           502   upstream 401              upstream_auth_failed
├── CheckoutConflict            503   upstream 409, duplicate 429 (same key in flight)
│                                                               upstream_in_flight
├── CheckoutUnavailable         503   transport error, 408, 429, 5xx (after retries)
│                                                               upstream_unavailable
└── CheckoutUnexpectedResponse  502   any other status or an unreadable body   upstream_error
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx

from paybridge.adapters.http import is_transient_status, parse_retry_after
from paybridge.errors import (
    Conflict,
    NotFound,
    PaybridgeError,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)

REQUEST_ID_HEADER = "Cko-Request-Id"


class CheckoutError(PaybridgeError):
    """A Checkout.com call that did not succeed; never carries bodies or secrets."""

    http_status = 502
    default_code: ClassVar[str] = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        upstream_status: int | None = None,
        request_id: str | None = None,
        error_type: str | None = None,
        error_codes: Sequence[str] = (),
        retry_after_s: float | None = None,
    ) -> None:
        self.operation = operation
        self.upstream_status = upstream_status
        self.request_id = request_id
        self.error_type = error_type
        self.error_codes = list(error_codes)
        self.retry_after_s = retry_after_s
        extra: dict[str, Any] = {"upstream": "checkout"}
        for key, value in (
            ("operation", operation),
            ("upstream_status", upstream_status),
            ("cko_request_id", request_id),
            ("error_type", error_type),
        ):
            if value is not None:
                extra[key] = value
        if self.error_codes:
            extra["error_codes"] = list(self.error_codes)
        super().__init__(message=message, code=self.default_code, extra=extra)

    @property
    def is_transient(self) -> bool:
        """Worth retrying with the same idempotency key: no answer, or a transient status."""
        return self.upstream_status is None or is_transient_status(self.upstream_status)

    @property
    def is_refusal(self) -> bool:
        """Checkout.com answered a 4xx that the same request would get again (not an auth,
        timeout, conflict or rate-limit status): final, so callers store and replay it."""
        status = self.upstream_status
        return status is not None and 400 <= status < 500 and status not in {401, 408, 409, 429}


class CheckoutValidationError(ValidationFailed, CheckoutError):
    default_code = "upstream_validation_failed"


class CheckoutActionNotAllowed(Conflict, CheckoutError):
    default_code = "upstream_action_not_allowed"


class CheckoutNotFound(NotFound, CheckoutError):
    default_code = "upstream_not_found"


class CheckoutAuthError(UpstreamError, CheckoutError):
    default_code = "upstream_auth_failed"


class CheckoutConflict(UpstreamUnavailable, CheckoutError):
    """The same idempotency key is still being processed at Checkout.com: poll, then retry."""

    default_code = "upstream_in_flight"


class CheckoutUnavailable(UpstreamUnavailable, CheckoutError):
    default_code = "upstream_unavailable"


class CheckoutUnexpectedResponse(UpstreamError, CheckoutError):
    default_code = "upstream_error"


_BY_STATUS: dict[int, tuple[type[CheckoutError], str]] = {
    401: (CheckoutAuthError, "Checkout.com refused the credentials"),
    403: (CheckoutActionNotAllowed, "Checkout.com does not allow this action now"),
    404: (CheckoutNotFound, "Checkout.com does not know this resource"),
    409: (CheckoutConflict, "Checkout.com is still processing a request with this key"),
    422: (CheckoutValidationError, "Checkout.com rejected the request as invalid"),
}


def _error_fields(response: httpx.Response) -> tuple[str | None, str | None, list[str]]:
    """(request_id, error_type, error_codes) from an error body that may be empty or not JSON."""
    body: object = None
    if response.content:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
    request_id = error_type = None
    codes: list[str] = []
    if isinstance(body, dict):
        if isinstance(body.get("request_id"), str):
            request_id = body["request_id"]
        if isinstance(body.get("error_type"), str):
            error_type = body["error_type"]
        raw_codes = body.get("error_codes")
        if isinstance(raw_codes, list):
            codes = [code for code in raw_codes if isinstance(code, str)]
    return request_id or response.headers.get(REQUEST_ID_HEADER), error_type, codes


def _looks_like_duplicate(error_type: str | None, codes: Sequence[str]) -> bool:
    """Older docs answered a concurrent duplicate key with 429; the body shape is unconfirmed."""
    words = [word.lower() for word in (error_type or "", *codes)]
    return any("duplicate" in word or "idempoten" in word for word in words)


def error_from_response(response: httpx.Response, *, operation: str) -> CheckoutError:
    """Map a non-2xx Checkout.com response to the matching `CheckoutError`."""
    status = response.status_code
    request_id, error_type, codes = _error_fields(response)
    cls, message = _BY_STATUS.get(status, (CheckoutUnexpectedResponse, ""))
    if status == 429 and _looks_like_duplicate(error_type, codes):
        cls, message = CheckoutConflict, _BY_STATUS[409][1]
    elif cls is CheckoutUnexpectedResponse and is_transient_status(status):
        cls, message = CheckoutUnavailable, "Checkout.com is unavailable"
    if not message:
        message = f"Checkout.com answered an unexpected HTTP {status}"
    if codes:
        message = f"{message}: {', '.join(codes)}"
    return cls(
        f"{message} ({operation})",
        operation=operation,
        upstream_status=status,
        request_id=request_id,
        error_type=error_type,
        error_codes=codes,
        retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
    )


def error_from_transport(error: httpx.TransportError, *, operation: str) -> CheckoutUnavailable:
    """A call that got no answer (connect/read timeout, reset, protocol error)."""
    kind = "timed out" if isinstance(error, httpx.TimeoutException) else "failed"
    return CheckoutUnavailable(
        f"Checkout.com call {kind}: {type(error).__name__} ({operation})", operation=operation
    )
