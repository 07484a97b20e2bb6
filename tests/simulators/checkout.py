"""A stateful Checkout.com simulator (ASGI) for tests: payments, actions, idempotency keys.

Behaviour follows the reference (NOTES §2–3): 201 for processed payments (a decline is a 201
with `approved: false`), 202 + `_links.redirect` when 3DS is asked for or the source is an
APM, 202 + `action_id` for captures, voids and refunds, 2xx replays for a repeated
`Cko-Idempotency-Key`, 401 without a Bearer key. Amounts ending in 05 (…05 minor units) are
declined with 20005, like the sandbox's decline amounts. Disputes (NOTES §5): `add_dispute`,
GET, accept (204), evidence PUT/POST (204; 422 once not `evidence_required`), `POST /files`.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
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
    and headers; `accepted_keys` adds secret keys (other entities' accounts) to `secret_key`;
    `latency_s` delays every answer (a slow Checkout.com, for benchmarks)."""

    secret_key: str = "sk_sbox_simulator"
    accepted_keys: set[str] = field(default_factory=set)
    payments: dict[str, SimPayment] = field(default_factory=dict)
    idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    accept_keys: set[str] = field(default_factory=set)
    latency_s: float = 0.0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/payments", self._create, methods=["POST"]),
                Route("/payments/{pid}", self._get, methods=["GET"]),
                Route("/payments/{pid}/captures", self._capture, methods=["POST"]),
                Route("/payments/{pid}/voids", self._void, methods=["POST"]),
                Route("/payments/{pid}/refunds", self._refund, methods=["POST"]),
                Route("/disputes/{did}", self._get_dispute, methods=["GET"]),
                Route("/disputes/{did}/accept", self._accept_dispute, methods=["POST"]),
                Route("/disputes/{did}/evidence", self._evidence, methods=["PUT", "POST"]),
                Route("/files", self._upload_file, methods=["POST"]),
            ]
        )

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app())

    def calls(self, method: str, path_prefix: str) -> list[Any]:
        return [
            body for m, p, _, body in self.requests if m == method and p.startswith(path_prefix)
        ]

    async def _guard(self, request: Request) -> tuple[Response | None, Any, str | None]:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        raw = await request.body()
        multipart = request.headers.get("content-type", "").startswith("multipart/")
        body = await request.json() if raw and not multipart else None
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

    # --- disputes (NOTES §5): GET, accept, evidence PUT/POST, files -----------------------

    def add_dispute(
        self,
        *,
        payment_id: str | None,
        status: str = "evidence_required",
        amount: int = 14990,
        currency: str = "EUR",
        category: str = "product_service_not_received",
        reason_code: str = "13.1",
        action_id: str | None = None,
        evidence_required_by: str = "2026-12-12T00:00:00Z",
        received_on: str = "2026-11-28T09:00:00Z",
        dispute_id: str | None = None,
    ) -> str:
        """A dispute as `GET /disputes/{id}` returns it; returns its `dsp_…` id."""
        did = dispute_id or "dsp_" + "".join(secrets.choice(_ALPHABET) for _ in range(22))
        self.disputes[did] = {
            "id": did,
            "entity_id": "ent_wxglze3wwywujg4nna5fb7ldli",
            "category": category,
            "amount": amount,
            "currency": currency,
            "reason_code": reason_code,
            "status": status,
            "relevant_evidence": ["proof_of_delivery_or_service", "invoice_or_receipt"],
            "evidence_required_by": evidence_required_by,
            "received_on": received_on,
            "last_update": received_on,
            "payment": {
                "id": payment_id,
                "action_id": action_id or cko_id("act"),
                "amount": amount,
                "currency": currency,
                "method": "Visa",
                "processed_on": received_on,
            }
            if payment_id
            else None,
            "_links": {"self": {"href": f"https://api.sandbox.checkout.com/disputes/{did}"}},
        }
        return did

    def set_dispute_status(self, dispute_id: str, status: str, *, at: str | None = None) -> None:
        dispute = self.disputes[dispute_id]
        dispute["status"] = status
        if at is not None:
            dispute["last_update"] = at

    async def _get_dispute(self, request: Request) -> Response:
        early, _, _ = await self._guard(request)
        if early is not None:
            return early
        dispute = self.disputes.get(request.path_params["did"])
        if dispute is None:
            return Response(status_code=404)
        return JSONResponse({k: v for k, v in dispute.items() if v is not None})

    def _dispute_or_refusal(
        self, request: Request
    ) -> tuple[dict[str, Any] | None, Response | None]:
        dispute = self.disputes.get(request.path_params["did"])
        if dispute is None:
            return None, Response(status_code=404)
        if dispute["status"] != "evidence_required":
            refusal = {"request_id": cko_id("req"), "error_type": "request_invalid"}
            return None, JSONResponse(refusal, status_code=422)
        return dispute, None

    async def _accept_dispute(self, request: Request) -> Response:
        early, _, key = await self._guard(request)
        if early is not None:
            return early
        if key is not None and key in self.accept_keys:
            return Response(status_code=204)  # a replayed Cko-Idempotency-Key
        dispute, refusal = self._dispute_or_refusal(request)
        if dispute is None:
            assert refusal is not None
            return refusal
        dispute["status"] = "accepted"
        if key is not None:
            self.accept_keys.add(key)
        return Response(status_code=204)

    async def _evidence(self, request: Request) -> Response:
        early, body, _ = await self._guard(request)
        if early is not None:
            return early
        dispute, refusal = self._dispute_or_refusal(request)
        if dispute is None:
            assert refusal is not None
            return refusal
        if request.method == "PUT":
            if not body:
                return JSONResponse({"error_codes": ["evidence_required"]}, status_code=422)
            self.evidence[dispute["id"]] = dict(body)
        else:
            dispute["status"] = "evidence_under_review"
        return Response(status_code=204)

    async def _upload_file(self, request: Request) -> Response:
        early, _, _ = await self._guard(request)
        if early is not None:
            return early
        async with request.form() as form:
            upload, purpose = form.get("file"), form.get("purpose")
            if not isinstance(upload, UploadFile) or purpose != "dispute_evidence":
                return JSONResponse({"error_codes": ["file_invalid"]}, status_code=422)
            content = await upload.read()
            file_id = cko_id("file")
            self.uploads.append(
                {
                    "id": file_id,
                    "filename": upload.filename,
                    "content_type": upload.content_type,
                    "size": len(content),
                    "purpose": purpose,
                }
            )
        links = {"self": {"href": f"https://api.sandbox.checkout.com/files/{file_id}"}}
        return JSONResponse({"id": file_id, "_links": links}, status_code=200)


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
