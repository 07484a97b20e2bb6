"""What the use cases need from the outside world, as Protocols (fakes satisfy them in tests)."""

from __future__ import annotations

from typing import Protocol

from paybridge.adapters.checkout.models import (
    ActionAcceptedResponse,
    CaptureRequest,
    PaymentRequest,
    PaymentResponse,
    RefundRequest,
    VoidRequest,
)


class CheckoutPayments(Protocol):
    async def create_payment(
        self, request: PaymentRequest, *, idempotency_key: str, secret_key: str | None = None
    ) -> PaymentResponse: ...

    async def capture(
        self,
        payment_id: str,
        request: CaptureRequest,
        *,
        idempotency_key: str,
        secret_key: str | None = None,
    ) -> ActionAcceptedResponse: ...

    async def void(
        self,
        payment_id: str,
        request: VoidRequest,
        *,
        idempotency_key: str,
        secret_key: str | None = None,
    ) -> ActionAcceptedResponse: ...

    async def refund(
        self,
        payment_id: str,
        request: RefundRequest,
        *,
        idempotency_key: str,
        secret_key: str | None = None,
    ) -> ActionAcceptedResponse: ...
