"""What the use cases need from the outside world, as Protocols (fakes satisfy them in tests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from paybridge.adapters.checkout.financial_actions import FinancialAction
from paybridge.adapters.checkout.models import (
    ActionAcceptedResponse,
    CaptureRequest,
    Dispute,
    FileUploadResponse,
    PaymentLinkCreated,
    PaymentLinkDetails,
    PaymentLinkRequest,
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


class CheckoutDisputes(Protocol):
    async def get_dispute(self, dispute_id: str, *, secret_key: str | None = None) -> Dispute: ...

    async def accept_dispute(
        self,
        dispute_id: str,
        *,
        idempotency_key: str | None = None,
        secret_key: str | None = None,
    ) -> None: ...

    async def provide_dispute_evidence(
        self, dispute_id: str, evidence: Mapping[str, str], *, secret_key: str | None = None
    ) -> None: ...

    async def submit_dispute_evidence(
        self, dispute_id: str, *, secret_key: str | None = None
    ) -> None: ...

    async def upload_file(
        self,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        secret_key: str | None = None,
    ) -> FileUploadResponse: ...


class CheckoutPaymentLinks(Protocol):
    async def create_payment_link(
        self, request: PaymentLinkRequest, *, idempotency_key: str, secret_key: str | None = None
    ) -> PaymentLinkCreated: ...

    async def get_payment_link(
        self, link_id: str, *, secret_key: str | None = None
    ) -> PaymentLinkDetails: ...


class CheckoutFinancialActions(Protocol):
    async def financial_actions_of_payment(
        self, payment_id: str, *, max_pages: int = 20, secret_key: str | None = None
    ) -> list[FinancialAction]: ...
