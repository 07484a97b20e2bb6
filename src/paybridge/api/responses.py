"""OpenAPI error documentation: every route lists its failures with the one envelope schema."""

from __future__ import annotations

from typing import Any

from paybridge.schemas.errors import ErrorEnvelope

_DESCRIPTIONS = {
    400: "Missing or malformed Idempotency-Key.",
    401: "Missing or wrong credentials (X-API-Key) or webhook signature.",
    404: "Unknown resource.",
    409: "Same Idempotency-Key still in flight, or an action the current state forbids.",
    413: "Body too large.",
    415: "Unsupported Content-Type.",
    422: "Validation or mapping failure (field named in details), card data, key reuse.",
    502: "Checkout.com refused in a way the caller cannot fix.",
    503: "Checkout.com or the database unavailable after bounded retries; retry with the same key.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[code]} for code in codes}


MUTATING_ERRORS = error_responses(400, 401, 404, 409, 413, 415, 422, 502, 503)
READ_ERRORS = error_responses(401, 404, 422)
