"""A Python stand-in for the package's Apex gateway adapter (salesforce/force-commerce:
PaybridgeGatewayRequests and PaybridgeGatewayAnswers), so the Commerce Payments loop runs
without an org: Order Management's flows call it, it calls paybridge the way the Apex does
(Idempotency-Key = Salesforce's idempotency key, the Paybridge-Origin header), maps the answer
the way the Apex does, and — as the payments platform would — keeps the pending Payment or
Refund of an asynchronous answer in the simulated org (`PaymentsPlatform`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from paybridge.sandbox.checkout_sim import CheckoutSimulator, SimPayment
from paybridge.sandbox.ids import cko_id
from paybridge.sandbox.salesforce_payments import PaymentsPlatform

ORIGIN = {"Paybridge-Origin": "salesforce-payment-gateway"}


@dataclass(frozen=True)
class GatewayOutcome:
    """What the adapter tells the platform (SalesforceResultCode, async, gateway reference)."""

    result_code: str  # Success | Decline | SystemError | ValidationError
    is_async: bool = False
    reference: str | None = None
    gateway_code: str | None = None


class GatewayAdapterStandIn:
    def __init__(
        self, paybridge: httpx.AsyncClient, platform: PaymentsPlatform, *, record: bool = True
    ) -> None:
        self._paybridge = paybridge
        self._platform = platform
        # False: the platform has not committed the pending record yet (a slow transaction).
        self.record_pending = record

    async def capture(
        self, payment_id: str, amount: Decimal, *, authorized: Decimal, key: str
    ) -> GatewayOutcome:
        """Ensure Funds → Capture. Only the capture of the remainder is final."""
        body = {"amount": str(amount), "final": amount >= authorized}
        return await self._send(payment_id, "captures", body, key, kind="capture", amount=amount)

    async def refund(self, payment_id: str, amount: Decimal, *, key: str) -> GatewayOutcome:
        """Ensure Refunds → ReferencedRefund."""
        body = {"amount": str(amount)}
        return await self._send(payment_id, "refunds", body, key, kind="refund", amount=amount)

    async def reverse(self, payment_id: str, *, key: str) -> GatewayOutcome:
        """Cancel → AuthorizationReversal: synchronous for the platform."""
        outcome = await self._send(payment_id, "voids", {}, key, kind="void", amount=None)
        return GatewayOutcome(outcome.result_code, False, outcome.reference, outcome.gateway_code)

    async def _send(
        self,
        payment_id: str,
        action: str,
        body: dict[str, Any],
        key: str,
        *,
        kind: str,
        amount: Decimal | None,
    ) -> GatewayOutcome:
        headers = {"Idempotency-Key": key, **ORIGIN}
        try:
            response = await self._paybridge.post(
                f"/v1/payments/{payment_id}/{action}", json=body, headers=headers
            )
        except httpx.TransportError:
            return GatewayOutcome("SystemError", gateway_code="callout_failed")
        if response.status_code == 202:
            action_id = str(response.json()["action_id"])
            if kind != "void" and self.record_pending:
                self._platform.record_async_response(kind, action_id, _text(amount))
            return GatewayOutcome("Success", kind != "void", action_id, "Requested")
        code = response.json().get("error", {}).get("code")
        refused = 400 <= response.status_code < 500 and response.status_code not in {401, 403}
        if refused and code != "idempotency_key_in_flight":
            return GatewayOutcome("Decline", gateway_code=code)
        return GatewayOutcome("SystemError", gateway_code=code)

    def commit_pending(self, kind: str, reference: str, amount: Decimal) -> None:
        """The platform's transaction commits the pending record at last."""
        self._platform.record_async_response(kind, reference, _text(amount))


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def storefront_authorization(
    checkout: CheckoutSimulator, *, reference: str, metadata: dict[str, Any]
) -> str:
    """A card authorization of 149.90 EUR made at Checkout.com by the storefront (a B2C
    Commerce cartridge), without paybridge: Order Management imports it with its pay_ id."""
    pid = cko_id("pay")
    checkout.payments[pid] = SimPayment(
        id=pid,
        amount=14990,
        currency="EUR",
        reference=reference,
        status="Authorized",
        approved=True,
        capture=False,
        metadata=metadata,
        source_type="card",
        action_id=cko_id("act"),
    )
    return pid
