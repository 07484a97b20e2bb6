"""Payment Links of the simulated Checkout.com: `POST /payment-links` (201 with
`_links.redirect` to the hosted page), `GET /payment-links/{id}`, and what the shopper does
on the page (`pay_link`). A link payment is an ordinary payment carrying the link's
metadata and reference, announced by the same webhooks; a decline leaves the link Active."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from paybridge.sandbox.ids import cko_id

DEFAULT_EXPIRES_IN_S = 86_400


@dataclass
class SimLink:
    id: str
    amount: int
    currency: str
    reference: str | None
    metadata: dict[str, Any]
    capture: bool
    three_ds: bool
    expires_on: datetime
    created_on: datetime
    billing: dict[str, Any] = field(default_factory=dict)
    return_url: str | None = None
    status: str = "Active"  # Active | Payment Received (Expired is read from the clock)
    payment_id: str | None = None
    attempts: list[str] = field(default_factory=list)

    def status_at(self, now: datetime) -> str:
        if self.status == "Active" and now >= self.expires_on:
            return "Expired"
        return self.status


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class LinkDesk:
    """The Payment Link half of `CheckoutSimulator`; it supplies the payment machinery."""

    links: dict[str, SimLink] = field(default_factory=dict)
    link_of_payment: dict[str, str] = field(default_factory=dict)
    link_page_base: str = "https://pay.sandbox.checkout.com/link"

    async def _guard(self, request: Request) -> tuple[Response | None, Any, str | None]:
        raise NotImplementedError

    def _remember(self, key: str | None, status: int, body: dict[str, Any]) -> JSONResponse:
        raise NotImplementedError

    def _pay_for_link(self, link: SimLink, *, card: str) -> Any:
        """Create the link's payment (the simulator's own payment flow)."""
        raise NotImplementedError

    def pay_link(self, link_id: str, *, card: str) -> Any:
        """The shopper pays on the hosted page with a test card; None when the link can no
        longer be paid (paid already, expired or unknown). Returns the payment."""
        link = self.links.get(link_id)
        if link is None or link.status_at(datetime.now(UTC)) != "Active":
            return None
        payment = self._pay_for_link(link, card=card)
        link.attempts.append(payment.id)
        self.link_of_payment[payment.id] = link.id
        self.note_link_payment(payment)
        return payment

    def note_link_payment(self, payment: Any) -> None:
        """An approved payment marks its link Payment Received (called after 3DS too)."""
        link_id = self.link_of_payment.get(payment.id)
        link = self.links.get(link_id) if link_id is not None else None
        if link is not None and payment.approved and link.status == "Active":
            link.status, link.payment_id = "Payment Received", payment.id

    def expire_link(self, link_id: str) -> None:
        """Move the link's expiry to now (a tester's shortcut for a link that ran out)."""
        link = self.links[link_id]
        link.expires_on = datetime.now(UTC) - timedelta(seconds=1)

    async def _create_link(self, request: Request) -> Response:
        early, body, key = await self._guard(request)
        if early is not None:
            return early
        problems = [
            code
            for code, ok in (
                ("processing_channel_id_required", body.get("processing_channel_id")),
                ("billing_required", (body.get("billing") or {}).get("address")),
                ("amount_invalid", isinstance(body.get("amount"), int) and body["amount"] > 0),
            )
            if not ok
        ]
        if problems:
            return JSONResponse(
                {
                    "request_id": cko_id("req"),
                    "error_type": "request_invalid",
                    "error_codes": problems,
                },
                status_code=422,
            )
        now = datetime.now(UTC)
        lid = "pl_" + cko_id("x")[2:14]  # Checkout.com's link ids are short: pl_ELqQJXdXzabU
        link = SimLink(
            id=lid,
            amount=body["amount"],
            currency=body["currency"],
            reference=body.get("reference"),
            metadata=dict(body.get("metadata") or {}),
            capture=bool(body.get("capture", True)),
            three_ds=bool((body.get("3ds") or {}).get("enabled")),
            expires_on=now + timedelta(seconds=int(body.get("expires_in", DEFAULT_EXPIRES_IN_S))),
            created_on=now,
            billing=dict(body["billing"]),
            return_url=body.get("return_url"),
        )
        self.links[lid] = link
        response = {
            "id": lid,
            "expires_on": _iso(link.expires_on),
            "reference": link.reference,
            "_links": {
                "self": {"href": f"https://api.sandbox.checkout.com/payment-links/{lid}"},
                "redirect": {"href": f"{self.link_page_base}/{lid}"},
            },
        }
        return self._remember(key, 201, response)

    async def _get_link(self, request: Request) -> Response:
        early, _, _ = await self._guard(request)
        if early is not None:
            return early
        link = self.links.get(request.path_params["lid"])
        if link is None:
            return Response(status_code=404)
        body: dict[str, Any] = {
            "id": link.id,
            "status": link.status_at(datetime.now(UTC)),
            "amount": link.amount,
            "currency": link.currency,
            "reference": link.reference,
            "created_on": _iso(link.created_on),
            "expires_on": _iso(link.expires_on),
            "metadata": link.metadata,
            "billing": link.billing,
            "_links": {
                "self": {"href": f"https://api.sandbox.checkout.com/payment-links/{link.id}"}
            },
        }
        if link.payment_id:
            body["payment_id"] = link.payment_id
        return JSONResponse(body)
