"""The rules of capture, void and refund, checked against a payment's folded ledger (pure)."""

from __future__ import annotations

from enum import StrEnum

from paybridge.domain.money import MoneyError, format_major, to_minor
from paybridge.domain.status import PaymentState, PaymentStatus
from paybridge.errors import Conflict, ErrorDetail, ValidationFailed
from paybridge.schemas.actions import CaptureCreate, RefundCreate, VoidCreate


class ActionKind(StrEnum):
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


ActionBody = CaptureCreate | VoidCreate | RefundCreate


def requested_minor(body: ActionBody, currency: str) -> int | None:
    amount = getattr(body, "amount", None)
    if amount is None:
        return None
    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise ValidationFailed(
            exc.message,
            code="validation_failed",
            details=[ErrorDetail(field="amount", code=exc.code, message=exc.message)],
        ) from exc


def _invalid_state(kind: ActionKind, status: PaymentStatus) -> Conflict:
    verb = {
        ActionKind.CAPTURE: "captured",
        ActionKind.VOID: "voided",
        ActionKind.REFUND: "refunded",
    }
    return Conflict(
        f"A {status.value} payment cannot be {verb[kind]}.",
        code="invalid_state",
        extra={"status": status.value},
    )


def check_rules(
    kind: ActionKind, state: PaymentState, requested_minor: int | None, currency: str
) -> int:
    """The amount to act on, or the precise refusal (pure: the ledger decides)."""
    if kind is ActionKind.CAPTURE:
        available = state.available_to_capture
        if available == 0:
            raise _invalid_state(kind, state.status)
        amount = available if requested_minor is None else requested_minor
        if amount > available:
            raise ValidationFailed(
                f"At most {format_major(available, currency)} {currency} can still be captured.",
                code="amount_exceeds_capturable",
                details=[ErrorDetail("amount", "amount_exceeds_capturable", "above capturable")],
            )
        return amount
    if kind is ActionKind.VOID:
        if state.available_to_void == 0 or state.pending_capture_minor > 0:
            raise _invalid_state(kind, state.status)
        return state.authorized_minor
    if state.captured_minor == 0 or state.status in {PaymentStatus.VOIDED, PaymentStatus.DECLINED}:
        raise _invalid_state(kind, state.status)
    available = state.available_to_refund
    amount = available if requested_minor is None else requested_minor
    if amount > available or available == 0:
        raise ValidationFailed(
            f"At most {format_major(available, currency)} {currency} can still be refunded.",
            code="amount_exceeds_refundable",
            details=[ErrorDetail("amount", "amount_exceeds_refundable", "above refundable")],
        )
    return amount
