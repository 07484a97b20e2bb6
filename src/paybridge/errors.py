"""Typed errors with stable machine codes; one handler turns them into the error envelope.

PaybridgeError (code, http_status)
├── InvalidRequest            400  malformed header or request shape outside a body model
├── AuthenticationFailed      401  caller credentials or webhook signature
├── NotFound                  404
├── Conflict                  409  idempotency key in flight, forbidden state transition
├── ValidationFailed          422  field-named details; card data; key reuse; amount limits
├── PayloadTooLarge           413
├── UnsupportedMediaType      415
├── UpstreamError             502  Checkout.com refused in a way the caller cannot fix
└── UpstreamUnavailable       503  Checkout.com or the database unreachable after retries

Unknown exceptions are never mapped to 4xx: they stay 500 and are logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One failing field: `field` is a dotted path into the request body."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(eq=False)
class PaybridgeError(Exception):
    """Root of every expected failure; `code` is stable and documented."""

    message: str
    code: str = "error"
    details: list[ErrorDetail] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    http_status: ClassVar[int] = 500

    def __post_init__(self) -> None:
        super().__init__(self.message)


class InvalidRequest(PaybridgeError):
    http_status = 400


class AuthenticationFailed(PaybridgeError):
    http_status = 401


class NotFound(PaybridgeError):
    http_status = 404


class Conflict(PaybridgeError):
    http_status = 409


class PayloadTooLarge(PaybridgeError):
    http_status = 413


class UnsupportedMediaType(PaybridgeError):
    http_status = 415


class ValidationFailed(PaybridgeError):
    http_status = 422


class UpstreamError(PaybridgeError):
    http_status = 502


class UpstreamUnavailable(PaybridgeError):
    http_status = 503


def to_envelope(error: PaybridgeError, request_id: str | None) -> dict[str, Any]:
    """The body of every error response (DESIGN §3)."""
    body: dict[str, Any] = {
        "code": error.code,
        "message": error.message,
        "request_id": request_id,
        "details": [detail.as_dict() for detail in error.details],
    }
    if "cko_request_id" in error.extra:
        body["checkout_request_id"] = error.extra["cko_request_id"]
    if "error_codes" in error.extra:
        body["checkout_error_codes"] = list(error.extra["error_codes"])
    return {"error": body}
