"""Correlation id (accept/echo X-Request-ID) and request metrics, as plain ASGI middleware.

It also refuses, before any route runs, a path holding NUL or another control character
(`/v1/payments/%00`): no resource is named that way, and such text must never reach a query.
"""

from __future__ import annotations

import json
import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paybridge.domain.json_input import has_control_character
from paybridge.errors import NotFound, to_envelope
from paybridge.metrics import Metrics

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_log = structlog.get_logger(__name__)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(correlation_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            if has_control_character(scope["path"]):
                await _not_found(request_id, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            self.metrics.http_requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.http_latency.labels(scope["method"], path).observe(elapsed)
            _log.info(
                "http.request.completed",
                method=scope["method"],
                route=path,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("correlation_id")


async def _not_found(request_id: str, send: Send) -> None:
    error = NotFound("No resource has that name.", code="not_found")
    body = json.dumps(to_envelope(error, request_id)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
