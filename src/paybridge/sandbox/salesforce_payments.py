"""The simulated org's Commerce Payments side: what the package's gateway adapter and the
payments platform do with paybridge's notifications.

`record_async_response` is what the platform does with the adapter's asynchronous answer (a
pending Payment or Refund whose gateway reference is paybridge's action id); the notification
endpoint is the org's Site URL running `processNotification`: it verifies the signature (401),
reads the body (400), acknowledges voids, and completes the pending record (409 while there is
none, so paybridge retries), as the Apex in `salesforce/force-commerce` does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from paybridge.adapters.salesforce.gateway_signatures import (
    SIGNATURE_HEADER,
    verify_signature_header,
)

NOTIFY_PATH = "/services/data/{version}/commerce/payments/notify"


@dataclass
class PendingRecord:
    """A Payment (capture) or Refund the platform keeps pending until notified."""

    kind: str
    reference: str
    amount: str | None
    status: str = "Pending"


@dataclass
class PaymentsPlatform:
    """Knobs: `secret` (the org's Paybridge_Gateway_Setting__mdt; None = not set up),
    `unix_time` (the org's clock), `unavailable` (the next N notifications get 503).
    Seen: `notifications` (verified and read), `refused` (the statuses of the others)."""

    secret: str | None = None
    unavailable: int = 0
    unix_time: Callable[[], float] = time.time
    pending: dict[str, PendingRecord] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)

    def record_async_response(self, kind: str, reference: str, amount: str | None) -> None:
        self.pending.setdefault(reference, PendingRecord(kind, reference, amount))

    async def notify_endpoint(self, request: Request) -> Response:
        raw = await request.body()
        if self.unavailable > 0:
            self.unavailable -= 1
            return self._refuse(503, "Service Unavailable")
        header = request.headers.get(SIGNATURE_HEADER)
        if not verify_signature_header(header, raw, self.secret or "", now=int(self.unix_time())):
            return self._refuse(401, "invalid signature")
        try:
            notice = json.loads(raw)
        except ValueError:
            notice = None
        if not isinstance(notice, dict):
            return self._refuse(400, "body is not a JSON object")
        kind = notice.get("type")
        if kind == "void":
            self.notifications.append(notice)
            return JSONResponse({"result": "reversals have no notification to record"})
        if kind not in {"capture", "refund"}:
            return self._refuse(400, f"unknown notification type {kind}")
        record = self.pending.get(str(notice.get("action_id")))
        if record is None or record.kind != kind:
            return self._refuse(409, "no pending record with this gateway reference")
        record.status = "Processed" if notice.get("status") == "Succeeded" else "Failed"
        self.notifications.append(notice)
        return JSONResponse({"result": "recorded"})

    def _refuse(self, status: int, message: str) -> Response:
        self.refused.append(status)
        return JSONResponse({"result": message}, status_code=status)
