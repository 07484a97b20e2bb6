"""Exception handlers: every failure leaves in the one envelope (DESIGN §3)."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from paybridge.errors import (
    ErrorDetail,
    PaybridgeError,
    UpstreamUnavailable,
    ValidationFailed,
    to_envelope,
)
from paybridge.schemas.payments import PAYMENT_METHOD_TYPES

_log = structlog.get_logger(__name__)


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def error_response(error: PaybridgeError, request: Request) -> JSONResponse:
    headers = {"WWW-Authenticate": "ApiKey"} if error.http_status == 401 else None
    return JSONResponse(
        to_envelope(error, request_id_of(request)), status_code=error.http_status, headers=headers
    )


def dotted(location: tuple[int | str, ...] | list[int | str]) -> str:
    """`("body", "order", "Id")` → `order.Id`; list indexes as `[0]`."""
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def validation_error(errors: list[dict[str, object]]) -> ValidationFailed:
    details = []
    for err in errors:
        loc = err.get("loc", ())
        assert isinstance(loc, tuple | list)
        location = [p for p in loc if isinstance(p, int | str)]
        # Discriminated unions add the tag to the path: drop it so the field reads naturally.
        location = [
            p
            for i, p in enumerate(location)
            if not (0 < i < len(location) - 1 and p in PAYMENT_METHOD_TYPES)
            or location[i - 1] != "payment_method"
        ]
        details.append(
            ErrorDetail(
                field=dotted(location) or "body",
                code=str(err.get("type", "invalid")),
                message=str(err.get("msg", "invalid value")),
            )
        )
    return ValidationFailed("The request is invalid.", code="validation_failed", details=details)


def install_error_handlers(app: FastAPI) -> None:
    async def on_paybridge_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PaybridgeError)
        if exc.http_status >= 500:
            _log.warning("request.failed", code=exc.code, status=exc.http_status)
        return error_response(exc, request)

    async def on_request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(list(exc.errors())), request)

    async def on_http_exception(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        error = PaybridgeError(str(exc.detail), code=codes.get(exc.status_code, "http_error"))
        return JSONResponse(
            to_envelope(error, request_id_of(request)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Pool exhausted or database unreachable: the caller retries with the same key.
        _log.warning("database.unavailable", error_type=type(exc).__name__)
        error = UpstreamUnavailable(
            "The database is unavailable; retry with the same Idempotency-Key.",
            code="database_unavailable",
        )
        return JSONResponse(
            to_envelope(error, request_id_of(request)),
            status_code=error.http_status,
            headers={"Retry-After": "1"},
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("request.crashed", error_type=type(exc).__name__)
        error = PaybridgeError("Internal error; it was logged.", code="internal_error")
        return JSONResponse(to_envelope(error, request_id_of(request)), status_code=500)

    app.add_exception_handler(PaybridgeError, on_paybridge_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    for unavailable in (
        sa_exc.TimeoutError,
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        ConnectionError,
    ):
        app.add_exception_handler(unavailable, on_database_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
