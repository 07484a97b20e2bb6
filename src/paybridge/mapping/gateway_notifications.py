"""A settled action → the body of the gateway notification the org's adapter records (pure).

The adapter matches it to the pending Payment or Refund by `action_id` (the gateway reference
its asynchronous answer set) and reads `status` Succeeded/Declined; voids are acknowledged only
(the platform has no pending reversal). Keys are sorted and the JSON compact, so the bytes signed
are the bytes sent, the same every time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from paybridge.domain.money import format_major
from paybridge.mapping.salesforce_records import to_salesforce_datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayNotice:
    kind: str  # capture | refund | void
    status: str  # Succeeded | Declined
    checkout_payment_id: str
    checkout_action_id: str
    currency: str
    amount_minor: int | None = None
    response_code: str | None = None
    response_summary: str | None = None
    processed_at: datetime | None = None


def notification_body(notice: GatewayNotice) -> bytes:
    body = {
        "type": notice.kind,
        "status": notice.status,
        "payment_id": notice.checkout_payment_id,
        "action_id": notice.checkout_action_id,
        "currency": notice.currency,
        "amount": None
        if notice.amount_minor is None
        else format_major(notice.amount_minor, notice.currency),
        "response_code": notice.response_code,
        "response_summary": notice.response_summary,
        "processed_at": None
        if notice.processed_at is None
        else to_salesforce_datetime(notice.processed_at),
    }
    present = {key: value for key, value in body.items() if value is not None}
    return json.dumps(present, sort_keys=True, separators=(",", ":")).encode()
