"""A stateful Checkout.com simulator (ASGI): payments, actions, idempotency keys, webhooks.

Behaviour follows the reference (NOTES §2–3): 201 for processed payments (a decline is a 201
with `approved: false`), 202 + `_links.redirect` when 3DS is asked for or the source is an
APM, 202 + `action_id` for captures, voids and refunds, 2xx replays for a repeated
`Cko-Idempotency-Key`, 401 without a Bearer key. Test values (declining amounts, the 3DS
token) are in `checkout_cards`. With a connected `webhooks` sender, every outcome is also
announced by a signed webhook, as Checkout.com does; disputes are in `checkout_disputes`,
webhook workflows in `checkout_workflows`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paybridge.sandbox.checkout_cards import (
    CARD_SOURCES,
    DECLINED_CARD_CODES,
    LINK_CARD_DECLINED,
    LINK_CARD_THREE_DS,
    NO_REDIRECT_METHODS,
    asks_for_three_ds,
    authorization_outcome,
)
from paybridge.sandbox.checkout_disputes import DisputeDesk
from paybridge.sandbox.checkout_financial import FinancialDesk, SettledPayment
from paybridge.sandbox.checkout_links import LinkDesk, SimLink
from paybridge.sandbox.checkout_webhooks import now_text, payment_event
from paybridge.sandbox.checkout_workflows import WorkflowDesk
from paybridge.sandbox.ids import cko_id


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
    redirect_url: str | None = None
    success_url: str | None = None
    failure_url: str | None = None
    capture_action_id: str | None = None


@dataclass
class CheckoutSimulator(LinkDesk, DisputeDesk, WorkflowDesk, FinancialDesk):
    """Knobs: `fail_next` answers N requests with `fail_status`; `requests` records bodies
    and headers; `accepted_keys` adds secret keys (other entities' accounts) to `secret_key`;
    `latency_s` delays every answer (a slow Checkout.com, for benchmarks); `redirect_base`
    is where 3DS/APM redirect links point; `webhooks` (once connected) announces outcomes;
    `spec23_statuses` (see below)."""

    secret_key: str = "sk_sbox_simulator"
    accepted_keys: set[str] = field(default_factory=set)
    payments: dict[str, SimPayment] = field(default_factory=dict)
    idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503
    latency_s: float = 0.0
    redirect_base: str = "https://sandbox.checkout.com/redirect"
    # The 2023 spec's 201 says `Authorized` even when auto-capture follows (`payment_captured`
    # tells); off, the 201 says `Captured`, as SPEC21 did (NOTES §2).
    spec23_statuses: bool = False

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/payments", self._create, methods=["POST"]),
                Route("/payments/{pid}", self._get, methods=["GET"]),
                Route("/payments/{pid}/actions", self._get_actions, methods=["GET"]),
                Route("/payments/{pid}/captures", self._capture, methods=["POST"]),
                Route("/payments/{pid}/voids", self._void, methods=["POST"]),
                Route("/payments/{pid}/refunds", self._refund, methods=["POST"]),
                Route("/disputes/{did}", self._get_dispute, methods=["GET"]),
                Route("/disputes/{did}/accept", self._accept_dispute, methods=["POST"]),
                Route("/disputes/{did}/evidence", self._evidence, methods=["PUT", "POST"]),
                Route("/files", self._upload_file, methods=["POST"]),
                Route("/payment-links", self._create_link, methods=["POST"]),
                Route("/payment-links/{lid}", self._get_link, methods=["GET"]),
                Route("/financial-actions", self._financial_actions, methods=["GET"]),
                *self.workflow_routes(),
            ]
        )

    def _settled_payments(self) -> list[SettledPayment]:
        return list(self.payments.values())

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app())

    def calls(self, method: str, path_prefix: str) -> list[Any]:
        return [
            body for m, p, _, body in self.requests if m == method and p.startswith(path_prefix)
        ]

    # --- what the shopper and the card schemes do (the redirect page, chargebacks) ----------

    def complete_redirect(self, payment_id: str, *, succeeded: bool) -> SimPayment | None:
        """The shopper finished (or failed) 3DS or the APM's page; a no-op unless pending."""
        payment = self.payments.get(payment_id)
        if payment is None or payment.status != "Pending":
            return payment
        if not succeeded:
            payment.status, payment.approved = "Declined", False
            card = payment.source_type in CARD_SOURCES
            kind = "payment_authentication_failed" if card else "payment_declined"
            self._announce(kind, payment, action_id=payment.action_id, amount=payment.amount)
            return payment
        self._settle(payment)
        self.note_link_payment(payment)
        return payment

    def _pay_for_link(self, link: SimLink, *, card: str) -> SimPayment:
        pid = cko_id("pay")
        three_ds = link.three_ds or card == LINK_CARD_THREE_DS
        payment = SimPayment(
            id=pid,
            amount=link.amount,
            currency=link.currency,
            reference=link.reference,
            status="Pending",
            approved=False,
            capture=link.capture,
            metadata=dict(link.metadata),
            source_type="token",
            action_id=cko_id("act"),
            redirect_url=f"{self.redirect_base}/{pid}" if three_ds else None,
            success_url=link.return_url,
        )
        self.payments[pid] = payment
        if three_ds:
            self._announce("payment_pending", payment, amount=payment.amount)
        elif card == LINK_CARD_DECLINED:
            payment.status = "Declined"
            self._announce(
                "payment_declined", payment, action_id=payment.action_id, codes=DECLINED_CARD_CODES
            )
        else:
            self._settle(payment)
        return payment

    def open_dispute(self, payment_id: str) -> str | None:
        """A chargeback on a captured payment (`dispute_evidence_required`); None if nothing
        is captured."""
        payment = self.payments.get(payment_id)
        if payment is None or payment.captured - payment.refunded <= 0:
            return None
        received = datetime.now(UTC)
        did = self.add_dispute(
            payment_id=payment.id,
            amount=payment.captured - payment.refunded,
            currency=payment.currency,
            action_id=payment.capture_action_id,
            received_on=received.isoformat().replace("+00:00", "Z"),
            evidence_required_by=(received + timedelta(days=14)).strftime("%Y-%m-%dT00:00:00Z"),
        )
        self.dispute_references[did] = payment.reference
        self._notify("dispute_evidence_required", self.disputes[did])
        return did

    # --- the API -----------------------------------------------------------------------------

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
        pid = cko_id("pay")
        # SEPA Direct Debit is pending too, but collects by mandate: there is nowhere to go.
        pending = asks_for_three_ds(source, body.get("3ds")) or source["type"] not in CARD_SOURCES
        redirect = pending and source["type"] not in NO_REDIRECT_METHODS
        payment = SimPayment(
            id=pid,
            amount=int(body.get("amount", 0)),
            currency=body["currency"],
            reference=body.get("reference"),
            status="Pending",
            approved=False,
            capture=bool(body.get("capture", True)),
            metadata=dict(body.get("metadata") or {}),
            source_type=source["type"],
            action_id=cko_id("act"),
            redirect_url=f"{self.redirect_base}/{pid}" if redirect else None,
            success_url=body.get("success_url"),
            failure_url=body.get("failure_url"),
        )
        self.payments[pid] = payment
        links: dict[str, Any] = {
            "self": {"href": f"https://api.sandbox.checkout.com/payments/{pid}"}
        }
        if pending:
            if payment.redirect_url:
                links["redirect"] = {"href": payment.redirect_url}
            self._announce("payment_pending", payment, amount=payment.amount)
            return self._remember(
                key,
                202,
                {"id": pid, "status": "Pending", "reference": payment.reference, "_links": links},
            )
        outcome = self._settle(payment)
        response = {
            "id": pid,
            "action_id": payment.action_id,
            "amount": payment.amount,
            "currency": payment.currency,
            "approved": payment.approved,
            "status": "Authorized"
            if self.spec23_statuses and payment.status == "Captured"
            else payment.status,
            "response_code": outcome[0],
            "response_summary": outcome[1],
            "reference": payment.reference,
            "processed_on": now_text(),
            "source": {"id": cko_id("src"), "type": "card", "last4": "4242", "scheme": "Visa"},
            **_expiry_of(payment),
            "_links": links,
        }
        return self._remember(key, 201, response)

    def _settle(self, payment: SimPayment) -> tuple[str, str]:
        """The issuer's answer: approve (and capture, when asked) or decline."""
        outcome = authorization_outcome(payment.amount)
        codes = (outcome.response_code, outcome.response_summary)
        payment.approved = outcome.approved
        if not outcome.approved:
            payment.status = "Declined"
            self._announce("payment_declined", payment, action_id=payment.action_id, codes=codes)
            return codes
        payment.status = "Captured" if payment.capture else "Authorized"
        self._announce("payment_approved", payment, action_id=payment.action_id, codes=codes)
        if payment.capture:
            payment.captured = payment.amount
            payment.capture_action_id = cko_id("act")
            self._announce("payment_captured", payment, action_id=payment.capture_action_id)
        return codes

    def _announce(
        self,
        event_type: str,
        payment: SimPayment,
        *,
        action_id: str | None = None,
        amount: int | None = None,
        codes: tuple[str, str] = ("10000", "Approved"),
    ) -> None:
        if self.webhooks is None:
            return
        event = payment_event(
            event_type,
            payment_id=payment.id,
            amount=payment.amount if amount is None else amount,
            currency=payment.currency,
            reference=payment.reference,
            metadata=payment.metadata,
            source_type=payment.source_type,
            action_id=action_id,
            response_code=codes[0],
            response_summary=codes[1],
        )
        self.webhooks.emit(event)

    async def _lookup(self, request: Request) -> SimPayment | Response:
        """The payment a GET names, or the answer to give instead (auth failure, 404)."""
        early, _, _ = await self._guard(request)
        if early is not None:
            return early
        payment = self.payments.get(request.path_params["pid"])
        return payment if payment is not None else Response(status_code=404)

    async def _get_actions(self, request: Request) -> Response:
        """The payment's actions, latest first, as `GET /payments/{id}/actions` lists them."""
        payment = await self._lookup(request)
        if isinstance(payment, Response):
            return payment
        listed: list[dict[str, Any]] = []
        issuer = authorization_outcome(payment.amount)
        # Decided by the issuer; a shopper who failed 3DS never reached it (no action).
        if payment.status != "Pending" and payment.approved == issuer.approved:
            listed.append(
                _action_item(
                    payment.action_id,
                    "Authorization",
                    payment.amount,
                    approved=issuer.approved,
                    code=issuer.response_code,
                    summary=issuer.response_summary,
                )
            )
        if payment.capture and payment.capture_action_id:
            listed.append(_action_item(payment.capture_action_id, "Capture", payment.amount))
        for action in payment.actions:
            kind = str(action["type"]).capitalize()
            listed.append(_action_item(action["id"], kind, action.get("amount")))
        return JSONResponse(list(reversed(listed)))

    async def _get(self, request: Request) -> Response:
        payment = await self._lookup(request)
        if isinstance(payment, Response):
            return payment
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
            done = amount if amount is not None else payment.amount - payment.captured
            payment.actions[-1]["settled_amount"] = done
            payment.captured += done
            payment.capture_action_id = payment.capture_action_id or action_id
            final = (body or {}).get("capture_type") != "NonFinal"
            payment.status = (
                "Captured" if final or payment.captured >= payment.amount else "Partially Captured"
            )
            self._announce("payment_captured", payment, action_id=action_id, amount=done)
        elif kind == "void":
            payment.status = "Voided"
            self._announce("payment_voided", payment, action_id=action_id, amount=payment.amount)
        else:
            done = amount if amount is not None else payment.captured - payment.refunded
            payment.actions[-1]["settled_amount"] = done
            payment.refunded += done
            self._announce("payment_refunded", payment, action_id=action_id, amount=done)
        return self._remember(
            key, 202, {"action_id": action_id, "reference": (body or {}).get("reference")}
        )

    async def _capture(self, request: Request) -> Response:
        return await self._action(request, "capture")

    async def _void(self, request: Request) -> Response:
        return await self._action(request, "void")

    async def _refund(self, request: Request) -> Response:
        return await self._action(request, "refund")


def _expiry_of(payment: SimPayment) -> dict[str, str]:
    """`expires_on` of an approved, uncaptured card authorization: Checkout.com's default
    7 days (NOTES §2 lists the field on the 201)."""
    if not payment.approved or payment.capture:
        return {}
    expires = datetime.now(UTC) + timedelta(days=7)
    return {"expires_on": expires.isoformat().replace("+00:00", "Z")}


def _action_item(
    action_id: str,
    kind: str,
    amount: int | None,
    *,
    approved: bool = True,
    code: str = "10000",
    summary: str = "Approved",
) -> dict[str, Any]:
    return {
        "id": action_id,
        "type": kind,
        "processed_on": now_text(),
        "amount": amount,
        "approved": approved,
        "response_code": code,
        "response_summary": summary,
    }
