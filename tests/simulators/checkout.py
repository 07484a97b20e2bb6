"""A stateful Checkout.com simulator (ASGI) for tests: payments, actions, idempotency keys.

Behaviour follows the reference (NOTES §2–3): 201 for processed payments (a decline is a 201
with `approved: false`), 202 + `_links.redirect` when 3DS is asked for or the source is an
APM, 202 + `action_id` for captures, voids and refunds, 2xx replays for a repeated
`Cko-Idempotency-Key`, 401 without a Bearer key. Amounts ending in 05 (…05 minor units) are
declined with 20005, like the sandbox's decline amounts.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_ALPHABET = string.ascii_lowercase + string.digits


def cko_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(26))


@dataclass
class SimPayment:
    id: str
    amount: int
    currency: str
    reference: str | None
    status: str
    approved: bool
    capture: bool
    metadata: dict[str, Any]
    source_type: str
    action_id: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    captured: int = 0
    refunded: int = 0


@dataclass
class CheckoutSimulator:
    """Knobs: `fail_next` answers N requests with `fail_status`; `requests` records bodies
    and headers; `accepted_keys` adds secret keys (other entities' accounts) to `secret_key`."""

    secret_key: str = "sk_sbox_simulator"
    accepted_keys: set[str] = field(default_factory=set)
    payments: dict[str, SimPayment] = field(default_factory=dict)
    idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/payments", self._create, methods=["POST"]),
                Route("/payments/{pid}", self._get, methods=["GET"]),
                Route("/payments/{pid}/captures", self._capture, methods=["POST"]),
                Route("/payments/{pid}/voids", self._void, methods=["POST"]),
                Route("/payments/{pid}/refunds", self._refund, methods=["POST"]),
            ]
        )

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app())

    def calls(self, method: str, path_prefix: str) -> list[Any]:
        return [
            body for m, p, _, body in self.requests if m == method and p.startswith(path_prefix)
        ]

    async def _guard(self, request: Request) -> tuple[Response | None, Any, str | None]:
        body = await request.json() if await request.body() else None
        self.requests.append((request.method, request.url.path, dict(request.headers), body))
        keys = {self.secret_key, *self.accepted_keys}
        if request.headers.get("authorization") not in {f"Bearer {key}" for key in keys}:
            return Response(status_code=401), body, None
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({}, status_code=self.fail_status), body, None
        key = request.headers.get("cko-idempotency-key")
        if key is not None and key in self.idempotent:
            status, stored = self.idempotent[key]
            return JSONResponse(stored, status_code=status), body, key
        return None, body, key

    def _remember(self, key: str | None, status: int, body: dict[str, Any]) -> JSONResponse:
        if key is not None and 200 <= status < 300:
            self.idempotent[key] = (status, body)
        return JSONResponse(body, status_code=status)

    async def _create(self, request: Request) -> Response:
        early, body, key = await self._guard(request)
        if early is not None:
            return early
        if not body.get("processing_channel_id"):
            return JSONResponse(
                {
                    "request_id": cko_id("req"),
                    "error_type": "request_invalid",
                    "error_codes": ["processing_channel_id_required"],
                },
                status_code=422,
            )
        source = body["source"]
        amount = int(body.get("amount", 0))
        pid = cko_id("pay")
        declined = amount % 100 == 5
        three_ds = bool((body.get("3ds") or {}).get("enabled"))
        # SEPA Direct Debit is pending too, but collects by mandate: there is nowhere to go.
        pending = three_ds or source["type"] not in {"token", "id"}
        redirect = pending and source["type"] != "sepa"
        capture = bool(body.get("capture", True))
        if pending:
            status_text = "Pending"
        elif declined:
            status_text = "Declined"
        else:
            status_text = "Captured" if capture else "Authorized"
        payment = SimPayment(
            id=pid,
            amount=amount,
            currency=body["currency"],
            reference=body.get("reference"),
            status=status_text,
            approved=not declined and not pending,
            capture=capture,
            metadata=dict(body.get("metadata") or {}),
            source_type=source["type"],
            action_id=cko_id("act"),
        )
        if status_text == "Captured":
            payment.captured = amount
        self.payments[pid] = payment
        links: dict[str, Any] = {
            "self": {"href": f"https://api.sandbox.checkout.com/payments/{pid}"}
        }
        if pending:
            if redirect:
                links["redirect"] = {"href": f"https://sandbox.checkout.com/redirect/{pid}"}
            return self._remember(
                key,
                202,
                {"id": pid, "status": "Pending", "reference": payment.reference, "_links": links},
            )
        response = {
            "id": pid,
            "action_id": payment.action_id,
            "amount": amount,
            "currency": payment.currency,
            "approved": payment.approved,
            "status": status_text,
            "response_code": "20005" if declined else "10000",
            "response_summary": "Declined - Do not honour" if declined else "Approved",
            "reference": payment.reference,
            "processed_on": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "source": {"id": cko_id("src"), "type": "card", "last4": "4242", "scheme": "Visa"},
            "_links": links,
        }
        return self._remember(key, 201, response)

    async def _get(self, request: Request) -> Response:
        early, _, _ = await self._guard(request)
        if early is not None:
            return early
        payment = self.payments.get(request.path_params["pid"])
        if payment is None:
            return Response(status_code=404)
        return JSONResponse(
            {
                "id": payment.id,
                "status": payment.status,
                "amount": payment.amount,
                "currency": payment.currency,
                "approved": payment.approved,
                "reference": payment.reference,
                "metadata": payment.metadata,
            }
        )

    async def _action(self, request: Request, kind: str) -> Response:
        early, body, key = await self._guard(request)
        if early is not None:
            return early
        payment = self.payments.get(request.path_params["pid"])
        if payment is None:
            return Response(status_code=404)
        allowed = {
            "capture": payment.status in {"Authorized", "Partially Captured"},
            "void": payment.status == "Authorized",
            "refund": payment.captured > payment.refunded,
        }[kind]
        if not allowed:
            return JSONResponse({"request_id": cko_id("req")}, status_code=403)
        action_id = cko_id("act")
        amount = (body or {}).get("amount")
        payment.actions.append({"id": action_id, "type": kind, "amount": amount})
        if kind == "capture":
            payment.captured += amount if amount is not None else payment.amount - payment.captured
            final = (body or {}).get("capture_type") != "NonFinal"
            payment.status = (
                "Captured" if final or payment.captured >= payment.amount else "Partially Captured"
            )
        elif kind == "void":
            payment.status = "Voided"
        else:
            payment.refunded += (
                amount if amount is not None else payment.captured - payment.refunded
            )
        return self._remember(
            key, 202, {"action_id": action_id, "reference": (body or {}).get("reference")}
        )

    async def _capture(self, request: Request) -> Response:
        return await self._action(request, "capture")

    async def _void(self, request: Request) -> Response:
        return await self._action(request, "void")

    async def _refund(self, request: Request) -> Response:
        return await self._action(request, "refund")


class LosingResponses(httpx.AsyncBaseTransport):
    """Forwards requests but loses the next N responses as read timeouts: Checkout.com did
    the work, paybridge never heard — the case idempotency keys exist for."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, lose_next: int = 0) -> None:
        self.inner = inner
        self.lose_next = lose_next

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.lose_next > 0:
            self.lose_next -= 1
            await response.aread()
            raise httpx.ReadTimeout("simulated: response lost", request=request)
        return response
