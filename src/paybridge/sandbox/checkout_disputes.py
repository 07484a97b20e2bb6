"""Disputes of the simulated Checkout.com (NOTES §5): GET, accept (204), evidence PUT/POST
(204; 422 once not `evidence_required`), `POST /files`, and opening one on a payment."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from paybridge.sandbox.checkout_webhooks import WebhookSender, dispute_event
from paybridge.sandbox.ids import ALPHABET, cko_id


@dataclass
class DisputeDesk:
    """The dispute half of `CheckoutSimulator`; it supplies `_guard` and `webhooks`."""

    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    accept_keys: set[str] = field(default_factory=set)
    webhooks: WebhookSender | None = None
    dispute_references: dict[str, str | None] = field(default_factory=dict)

    async def _guard(self, request: Request) -> tuple[Response | None, Any, str | None]:
        raise NotImplementedError

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
        did = dispute_id or "dsp_" + "".join(secrets.choice(ALPHABET) for _ in range(22))
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

    def _notify(self, event_type: str, dispute: dict[str, Any]) -> None:
        if self.webhooks is not None:
            reference = self.dispute_references.get(dispute["id"])
            self.webhooks.emit(dispute_event(event_type, dispute, reference=reference))

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
        self._notify("dispute_accepted", dispute)
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
            self._notify("dispute_evidence_submitted", dispute)
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
