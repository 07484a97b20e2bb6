"""Examples of the main success responses, each validated by its response model when the
document is built (a schema change that breaks one fails `paybridge openapi --check`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from paybridge.schemas.actions import ActionAccepted
from paybridge.schemas.disputes import DisputeList, DisputeRead, EvidenceFileRead
from paybridge.schemas.payment_links import PaymentLinkList, PaymentLinkRead
from paybridge.schemas.payments import PaymentList, PaymentRead

_PAYMENT: dict[str, Any] = {
    "payment_id": "pay_mbabizu24mvu3mela5njyhpit4",
    "status": "Authorized",
    "approved": True,
    "amount": "149.90",
    "amount_minor": 14990,
    "currency": "EUR",
    "reference": "00000100",
    "response_code": "10000",
    "response_summary": "Approved",
    "redirect_url": None,
    "order_id": "8015g00000AbCdEAAV",
    "market": "nl-web",
    "payment_method": "token",
    "amounts": {
        "authorized": "149.90",
        "captured": "0.00",
        "refunded": "0.00",
        "available_to_capture": "149.90",
        "available_to_refund": "0.00",
        "available_to_void": "149.90",
    },
    "actions": [
        {
            "action_id": "act_y3oqhf46pyzuxjbcn2giaqnb44",
            "type": "authorization",
            "amount": "149.90",
            "status": "Succeeded",
            "response_code": "10000",
            "response_summary": "Approved",
            "processed_at": "2026-11-02T10:15:04Z",
        }
    ],
    "salesforce": {"version": 1, "synced_version": 1, "last_synced_at": "2026-11-02T10:15:06Z"},
    "created_at": "2026-11-02T10:15:03Z",
    "updated_at": "2026-11-02T10:15:04Z",
}

_CAPTURED_PAYMENT: dict[str, Any] = {
    **_PAYMENT,
    "actions": [
        *_PAYMENT["actions"],
        {
            "action_id": "act_fd3h6evhpn3uxdoqbuu3lqnqbm",
            "type": "capture",
            "amount": "149.90",
            "status": "Requested",
            "requested_at": "2026-11-02T11:00:00Z",
        },
    ],
}

_DISPUTE: dict[str, Any] = {
    "dispute_id": "dsp_rbhwd2qrg13uhrp2newf",
    "status": "evidence_required",
    "category": "fraudulent",
    "reason_code": "10.4",
    "amount": "149.90",
    "amount_minor": 14990,
    "currency": "EUR",
    "lost_amount": None,
    "resolved_reason": None,
    "evidence_required_by": "2026-11-20T23:59:59Z",
    "received_on": "2026-11-05T08:00:00Z",
    "last_update": "2026-11-05T08:00:00Z",
    "relevant_evidence": ["proof_of_delivery_or_service", "invoice_or_receipt"],
    "open_for_evidence": True,
    "payment_id": "pay_mbabizu24mvu3mela5njyhpit4",
    "payment_action_id": "act_y3oqhf46pyzuxjbcn2giaqnb44",
    "payment_reference": "00000100",
    "payment_known": True,
    "order_id": "8015g00000AbCdEAAV",
    "created_at": "2026-11-05T08:00:01Z",
    "updated_at": "2026-11-05T08:00:01Z",
}

_ACCEPTED_CAPTURE: dict[str, Any] = {
    "action_id": "act_fd3h6evhpn3uxdoqbuu3lqnqbm",
    "type": "capture",
    "amount": "149.90",
    "status": "Requested",
    "payment": _CAPTURED_PAYMENT,
}

_PAYMENT_LINK: dict[str, Any] = {
    "link_id": "pl_ELqQJXdXzabU",
    "url": "https://pay.sandbox.checkout.com/link/pl_ELqQJXdXzabU",
    "status": "Active",
    "expires_at": "2026-11-09T10:15:03Z",
    "amount": "149.90",
    "amount_minor": 14990,
    "currency": "EUR",
    "reference": "00000100",
    "order_id": "8015g00000AbCdEAAV",
    "payment_id": None,
    "created_at": "2026-11-02T10:15:03Z",
}

_PAID_LINK: dict[str, Any] = {
    **_PAYMENT_LINK,
    "status": "Paid",
    "payment_id": "pay_mbabizu24mvu3mela5njyhpit4",
}

_EVIDENCE_FILE: dict[str, Any] = {
    "file_id": "file_6lbss42ezvoufcb2beo76rvwly",
    "dispute_id": "dsp_rbhwd2qrg13uhrp2newf",
    "filename": "delivery-note.pdf",
    "content_type": "application/pdf",
    "size_bytes": 48213,
}

_EXAMPLES: dict[tuple[str, str], tuple[type[BaseModel], dict[str, Any]]] = {
    ("createPayment", "201"): (PaymentRead, _PAYMENT),
    ("getPayment", "200"): (PaymentRead, _PAYMENT),
    ("listPayments", "200"): (PaymentList, {"payments": [_PAYMENT]}),
    ("capturePayment", "202"): (ActionAccepted, _ACCEPTED_CAPTURE),
    ("getDispute", "200"): (DisputeRead, _DISPUTE),
    ("listDisputes", "200"): (DisputeList, {"disputes": [_DISPUTE]}),
    ("uploadDisputeEvidenceFile", "201"): (EvidenceFileRead, _EVIDENCE_FILE),
    ("createPaymentLink", "201"): (PaymentLinkRead, _PAYMENT_LINK),
    ("getPaymentLink", "200"): (PaymentLinkRead, _PAID_LINK),
    ("listPaymentLinks", "200"): (PaymentLinkList, {"links": [_PAID_LINK, _PAYMENT_LINK]}),
}


def success_example(operation_id: str, status: str) -> dict[str, Any] | None:
    """The example body for that operation's answer, checked against its model; None if none."""
    entry = _EXAMPLES.get((operation_id, status))
    if entry is None:
        return None
    model, example = entry
    model.model_validate(example)
    return example
