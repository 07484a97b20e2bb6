"""Lifecycle requests from Salesforce → Checkout.com capture/void/refund bodies (pure)."""

from __future__ import annotations

from paybridge.adapters.checkout.models import CaptureRequest, RefundRequest, VoidRequest
from paybridge.schemas.actions import CaptureCreate, RefundCreate, VoidCreate

WireAction = CaptureRequest | VoidRequest | RefundRequest
WIRE_MODELS: dict[str, type[WireAction]] = {
    "capture": CaptureRequest,
    "void": VoidRequest,
    "refund": RefundRequest,
}


def to_wire(
    body: CaptureCreate | VoidCreate | RefundCreate, amount_minor: int | None
) -> WireAction:
    """Amounts are minor units already checked against the ledger; a refund's reason
    travels in its metadata (Checkout.com has no field for it)."""
    metadata: dict[str, str | int | float | bool] = dict(body.metadata or {})
    if isinstance(body, CaptureCreate):
        return CaptureRequest(
            amount=amount_minor,
            capture_type="Final" if body.final else "NonFinal",
            reference=body.reference,
            metadata=metadata or None,
        )
    if isinstance(body, RefundCreate):
        if body.reason:
            metadata["reason"] = body.reason
        return RefundRequest(
            amount=amount_minor, reference=body.reference, metadata=metadata or None
        )
    return VoidRequest(reference=body.reference, metadata=metadata or None)
