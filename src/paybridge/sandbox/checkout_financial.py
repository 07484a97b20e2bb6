"""Financial actions of the simulated Checkout.com: `GET /financial-actions?payment_id=…`
(or `action_id`), paged by `limit` and `pagination_token`, shaped as the 2023 spec's
`FinancialActionListResponse`.

Every succeeded capture and refund has one financial action, settled in the payment's own
currency (no FX), with fees by this rule (amounts A in major units, 8 decimal places, as
Checkout.com reports them):

- capture: `Gross` +A; `Interchange Passthrough Fee` 0.20 % of A; `Scheme Variable Fee`
  0.05 % of A; `Scheme Fixed Fee` 0.02; `Processing Fee` 0.90 % of A + 0.10;
- refund: `Gross` −A; `Processing Fee` 0.10.

So a 100.00 EUR capture nets 100.00 − 0.20 − 0.05 − 0.02 − 1.00 = 98.73 EUR. Knobs:
`unsettled_actions` (action ids Checkout.com has not settled yet: left out) and
`fee_corrections` (action id → a later `Processing Fee`, as a correction re-states it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from paybridge.domain.money import exponent
from paybridge.sandbox.checkout_webhooks import now_text
from paybridge.sandbox.ids import cko_id

ENTITY_ID = "ent_sandboxentity0000000000000"
CURRENCY_ACCOUNT_ID = "ca_sandboxaccount000000000000"
_PLACES = Decimal("0.00000001")


class SettledPayment(Protocol):
    id: str
    amount: int
    currency: str
    reference: str | None
    capture_action_id: str | None
    actions: list[dict[str, Any]]


def capture_lines(amount: Decimal) -> list[tuple[str, Decimal]]:
    return [
        ("Gross", amount),
        ("Interchange Passthrough Fee", amount * Decimal("0.0020")),
        ("Scheme Variable Fee", amount * Decimal("0.0005")),
        ("Scheme Fixed Fee", Decimal("0.02")),
        ("Processing Fee", amount * Decimal("0.0090") + Decimal("0.10")),
    ]


def refund_lines(amount: Decimal) -> list[tuple[str, Decimal]]:
    return [("Gross", -amount), ("Processing Fee", Decimal("0.10"))]


@dataclass
class FinancialDesk:
    """The financial-actions half of `CheckoutSimulator`; it supplies `_guard` and the
    payments (`_settled_payments`)."""

    unsettled_actions: set[str] = field(default_factory=set)
    fee_corrections: dict[str, Decimal] = field(default_factory=dict)
    financial_times: dict[str, str] = field(default_factory=dict)

    async def _guard(self, request: Request) -> tuple[Response | None, Any, str | None]:
        raise NotImplementedError

    def _settled_payments(self) -> list[SettledPayment]:
        raise NotImplementedError

    async def _financial_actions(self, request: Request) -> Response:
        early, _, _ = await self._guard(request)
        if early is not None:
            return early
        query = request.query_params
        payment_id, action_id = query.get("payment_id"), query.get("action_id")
        if not payment_id and not action_id:
            return JSONResponse(
                {
                    "request_id": cko_id("req"),
                    "error_type": "request_invalid",
                    "error_codes": ["payment_id_or_action_id_required"],
                },
                status_code=422,
            )
        items = [
            item
            for payment in self._settled_payments()
            if not payment_id or payment.id == payment_id
            for item in self._items_of(payment)
            if not action_id or item["action_id"] == action_id
        ]
        limit = max(1, min(int(query.get("limit") or 100), 100))
        start = int(query.get("pagination_token") or 0)
        page = items[start : start + limit]
        base = f"https://api.sandbox.checkout.com/financial-actions?payment_id={payment_id}"
        links: dict[str, Any] = {"self": {"href": f"{base}&limit={limit}"}}
        if start + limit < len(items):
            links["next"] = {"href": f"{base}&limit={limit}&pagination_token={start + limit}"}
        return JSONResponse({"count": len(page), "limit": limit, "data": page, "_links": links})

    def _items_of(self, payment: SettledPayment) -> list[dict[str, Any]]:
        settled: list[tuple[str, str, int]] = []
        listed = {str(action["id"]) for action in payment.actions}
        if payment.capture_action_id and payment.capture_action_id not in listed:
            settled.append((payment.capture_action_id, "Capture", payment.amount))
        for action in payment.actions:
            if action["type"] in ("capture", "refund") and action.get("settled_amount"):
                kind = "Capture" if action["type"] == "capture" else "Refund"
                settled.append((str(action["id"]), kind, int(action["settled_amount"])))
        return [
            self._item(payment, action_id, kind, amount)
            for action_id, kind, amount in settled
            if action_id not in self.unsettled_actions
        ]

    def _item(
        self, payment: SettledPayment, action_id: str, kind: str, amount_minor: int
    ) -> dict[str, Any]:
        amount = Decimal(amount_minor).scaleb(-exponent(payment.currency))
        lines = capture_lines(amount) if kind == "Capture" else refund_lines(amount)
        processed_on = self.financial_times.setdefault(action_id, now_text())
        corrected = self.fee_corrections.get(action_id)
        if corrected is not None:
            lines = [
                (name, corrected if name == "Processing Fee" else value) for name, value in lines
            ]
            processed_on = now_text()
        return {
            "payment_id": payment.id,
            "action_id": action_id,
            "action_type": kind,
            "entity_id": ENTITY_ID,
            "currency_account_id": CURRENCY_ACCOUNT_ID,
            "payment_method": "VISA",
            "reference": payment.reference or "",
            "response_code": "10000",
            "response_description": "Approved",
            "processed_on": processed_on,
            "requested_on": processed_on,
            # Checkout.com sends these amounts as JSON numbers. A float of a value quantized
            # to the currency's places prints back as those digits (shortest repr), and the
            # client reads the number as an exact decimal, so no money is rounded on the way.
            "breakdown": [
                {
                    "breakdown_type": name,
                    "fx_rate_applied": 1,
                    "holding_currency": payment.currency,
                    "holding_currency_amount": float(value.quantize(_PLACES)),
                    "processing_currency": payment.currency,
                    "processing_currency_amount": float(value.quantize(_PLACES)),
                }
                for name, value in lines
            ],
        }
