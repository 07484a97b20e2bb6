"""Checkout.com disputes (the GET resource or a `dispute_*` event's data) → `DisputeRecord`.

The resource is authoritative; the event fills what it leaves out (`payment_reference` is
only in event data) and is the fallback when the resource could not be read. The status
comes from the resource first and from the event type otherwise (Hyperswitch #11653).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from paybridge.adapters.checkout.models import Dispute
from paybridge.domain.disputes import DisputeStatus, parse_status, status_of_event
from paybridge.mapping.checkout_events import EventEnvelope

_DATETIME = TypeAdapter(datetime)


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeRecord:
    """What Checkout.com says about one dispute; `status` is the raw value (may be unknown)."""

    id: str
    status: str | None = None
    category: str | None = None
    reason_code: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    resolved_reason: str | None = None
    evidence_required_by: datetime | None = None
    received_on: datetime | None = None
    last_update: datetime | None = None
    relevant_evidence: tuple[str, ...] | None = None
    checkout_payment_id: str | None = None
    payment_action_id: str | None = None
    payment_reference: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    # Checkout.com's timestamps are UTC; one without an offset is read as UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _text(data: dict[str, Any], key: str, *, limit: int) -> str | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text[:limit] or None


def _time(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if not isinstance(value, str):
        return None
    try:
        return _utc(_DATETIME.validate_python(value))
    except ValidationError:
        return None


def _minor(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the spec types `amount` as number; minor units are whole
    return None


def from_dispute(dispute: Dispute) -> DisputeRecord:
    """GET /disputes/{id}: the payment ids are nested under `payment`."""
    payment = dispute.payment
    return DisputeRecord(
        id=dispute.id,
        status=dispute.status,
        category=dispute.category[:64] if dispute.category else None,
        reason_code=dispute.reason_code[:32] if dispute.reason_code else None,
        amount_minor=_minor(dispute.amount),
        currency=dispute.currency.upper()[:3] if dispute.currency else None,
        resolved_reason=dispute.resolved_reason[:64] if dispute.resolved_reason else None,
        evidence_required_by=_utc(dispute.evidence_required_by),
        received_on=_utc(dispute.received_on),
        last_update=_utc(dispute.last_update),
        relevant_evidence=tuple(str(item) for item in dispute.relevant_evidence),
        checkout_payment_id=payment.id if payment else None,
        payment_action_id=payment.action_id if payment else None,
    )


def from_event(event: EventEnvelope) -> DisputeRecord | None:
    """A `dispute_*` event's data (flat: `payment_id`, `payment_reference`…); None without
    a `dsp_…` id."""
    data = event.data
    dispute_id = event.subject_id
    if dispute_id is None or not dispute_id.startswith("dsp_"):
        return None
    currency = _text(data, "currency", limit=3)
    evidence = data.get("relevant_evidence")
    return DisputeRecord(
        id=dispute_id[:64],
        status=_text(data, "status", limit=48),
        category=_text(data, "category", limit=64),
        reason_code=_text(data, "reason_code", limit=32),
        amount_minor=_minor(data.get("amount")),
        currency=currency.upper() if currency else None,
        resolved_reason=_text(data, "resolved_reason", limit=64),
        evidence_required_by=_time(data, "evidence_required_by"),
        received_on=_time(data, "received_on") or _time(data, "date"),
        last_update=_time(data, "last_update"),
        relevant_evidence=tuple(str(item) for item in evidence)
        if isinstance(evidence, list)
        else None,
        checkout_payment_id=_text(data, "payment_id", limit=64),
        payment_action_id=_text(data, "payment_action_id", limit=64),
        payment_reference=_text(data, "payment_reference", limit=50),
    )


def combine(resource: DisputeRecord | None, event: DisputeRecord | None) -> DisputeRecord | None:
    """The resource's values, with the event's where the resource has none."""
    if resource is None or event is None:
        return resource or event
    gaps = {
        f.name: getattr(event, f.name)
        for f in fields(DisputeRecord)
        if getattr(resource, f.name) is None and getattr(event, f.name) is not None
    }
    return replace(resource, **gaps) if gaps else resource


def status_for(record: DisputeRecord, event_type: str) -> DisputeStatus | None:
    """The resource's status when paybridge knows it, else the one the event type implies."""
    return parse_status(record.status) or status_of_event(event_type)
