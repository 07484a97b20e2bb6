"""Checkout.com webhook bodies for tests, hand-written from the documented layout (NOTES §4.3)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from paybridge.adapters.checkout.signatures import compute_signature

SIGNING_KEY = "whsec-test-key-1"
_ids = itertools.count(1)


def event(
    event_type: str,
    payment_id: str,
    *,
    action_id: str | None = None,
    amount: int | None = 14990,
    currency: str = "EUR",
    reference: str = "00000100",
    metadata: dict[str, Any] | None = None,
    event_id: str | None = None,
    created_on: str = "2026-11-28T11:56:04.8821546Z",
    use_timestamp: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": payment_id,
        "reference": reference,
        "currency": currency,
        "metadata": metadata or {},
        "processed_on": created_on,
        "response_code": "10000",
        "response_summary": "Approved",
        "source": {
            "id": "src_abc",
            "type": "card",
            "last_4": "4242",
            "billing_address": {"town_city": "Amsterdam"},
        },
    }
    if amount is not None:
        data["amount"] = amount
    if action_id is not None:
        data["action_id"] = action_id
    body: dict[str, Any] = {
        "id": event_id or f"evt_{next(_ids):026d}",
        "type": event_type,
        "version": "1.0.29",
        "data": data,
        "_links": {"self": {"href": "https://api.sandbox.checkout.com/workflows/events/x"}},
    }
    body["timestamp" if use_timestamp else "created_on"] = created_on
    return body


def dispute_event(
    event_type: str,
    dispute_id: str,
    *,
    payment_id: str | None = None,
    reference: str | None = "00000100",
    amount: int = 14990,
    currency: str = "EUR",
    event_id: str | None = None,
    created_on: str = "2026-11-28T11:56:04.8821546Z",
) -> dict[str, Any]:
    """A `dispute_*` event: flat data with the payment's ids (docs `dispute_lost` example)."""
    data: dict[str, Any] = {
        "id": dispute_id,
        "category": "product_service_not_received",
        "amount": amount,
        "currency": currency,
        "reason_code": "13.1",
        "payment_method": "VISA",
        "date": "2026-11-28T09:00:00Z",
        "evidence_required_by": "2026-12-12T00:00:00Z",
        "processing_channel_id": "pc_simulatorchannel0000000000",
    }
    if payment_id is not None:
        data["payment_id"] = payment_id
        data["payment_action_id"] = "act_disputedcapture00000000000"
    if reference is not None:
        data["payment_reference"] = reference
    return {
        "id": event_id or f"evt_{next(_ids):026d}",
        "type": event_type,
        "version": "1.0.0",
        "timestamp": created_on,
        "data": data,
    }


def signed(body: dict[str, Any] | bytes, key: str = SIGNING_KEY) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {"Cko-Signature": compute_signature(raw, key), "Content-Type": "application/json"}
