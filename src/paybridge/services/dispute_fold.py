"""Fold what is known of a dispute into its row: the status lattice, newer fields, the link
to its payment — and make Salesforce follow (inside the caller's transaction).

Lock order: the dispute row, then its payment row. A payment created from a webhook adopts
the disputes that were waiting for it (`link_waiting_disputes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import RowMapping

from paybridge.domain.disputes import DisputeStatus, advance, parse_status
from paybridge.mapping.checkout_disputes import DisputeRecord
from paybridge.persistence.uow import UnitOfWork
from paybridge.services.ledger import apply_facts

SYNC_DISPUTE_TASK = "salesforce.sync_dispute"
_log = structlog.get_logger(__name__)

# Columns a newer view of the dispute may change (status has its own rule: the lattice).
_MERGED = (
    "category",
    "reason_code",
    "amount_minor",
    "currency",
    "resolved_reason",
    "evidence_required_by",
    "received_on",
    "last_update",
    "relevant_evidence",
    "checkout_payment_id",
    "payment_action_id",
    "payment_reference",
)


def sync_dispute_key(dispute_id: str) -> str:
    return f"sync-dispute:{dispute_id}"


def _stored(record: DisputeRecord, column: str) -> Any:
    value = getattr(record, column)
    return list(value) if isinstance(value, tuple) else value


def merged_fields(row: RowMapping, record: DisputeRecord) -> dict[str, Any]:
    """Columns to change: gaps are always filled; known values are replaced only by a view of
    the dispute that is at least as recent (by Checkout.com's `last_update`)."""
    newer = record.last_update is not None and (
        row["last_update"] is None or record.last_update >= row["last_update"]
    )
    changes: dict[str, Any] = {}
    for column in _MERGED:
        value = _stored(record, column)
        if value is None or value == row[column]:
            continue
        if row[column] is None or newer:
            changes[column] = value
    return changes


async def find_payment(uow: UnitOfWork, record: DisputeRecord) -> RowMapping | None:
    """The disputed payment, row-locked: by Checkout.com payment id, else by reference when
    exactly one payment (preferring captured ones) carries it."""
    if record.checkout_payment_id:
        payment = await uow.payments.get_by_checkout_id(record.checkout_payment_id, for_update=True)
        if payment is not None:
            return payment
    if not record.payment_reference:
        return None
    candidates = await uow.disputes.payments_with_reference(record.payment_reference)
    captured = [row for row in candidates if int(row["captured_minor"]) > 0] or list(candidates)
    if len(captured) != 1:
        if captured:
            _log.warning(
                "dispute.link.ambiguous",
                dispute_id=record.id,
                payment_reference=record.payment_reference,
                candidates=len(captured),
            )
        return None
    return await uow.payments.get_by_checkout_id(
        captured[0]["checkout_payment_id"], for_update=True
    )


async def _locked_payment(uow: UnitOfWork, payment_id: str) -> RowMapping | None:
    row = await uow.payments.get(payment_id)
    if row is None:
        return None
    return await uow.payments.get_by_checkout_id(row["checkout_payment_id"], for_update=True)


async def _announce(
    uow: UnitOfWork, dispute_id: str, payment: RowMapping | None, *, now: datetime
) -> None:
    """Make Salesforce follow: the payment's sync writes its Cases; an unlinked dispute has
    its own sync task."""
    if payment is not None:
        await apply_facts(uow, payment, [], now=now, extra={"disputed": True, "updated_at": now})
    else:
        await uow.outbox.enqueue(
            SYNC_DISPUTE_TASK,
            {"dispute_id": dispute_id},
            now=now,
            dedupe_key=sync_dispute_key(dispute_id),
        )


def _new_row(
    record: DisputeRecord, status: DisputeStatus, payment: RowMapping | None, now: datetime
) -> dict[str, Any]:
    return {
        "id": record.id,
        "payment_id": payment["id"] if payment is not None else None,
        **{column: _stored(record, column) for column in _MERGED},
        "status": status.value,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


async def fold_dispute(
    uow: UnitOfWork,
    record: DisputeRecord,
    incoming: DisputeStatus | None,
    *,
    now: datetime,
    cause: str,
) -> RowMapping | None:
    """Create or advance the dispute row (inside the caller's transaction); returns the row
    as now stored, or None when a new dispute has no status paybridge knows."""
    row = await uow.disputes.get(record.id, for_update=True)
    if row is None:
        if incoming is None:
            _log.warning(
                "dispute.status.unknown", dispute_id=record.id, status=record.status, cause=cause
            )
            return None
        found = await find_payment(uow, record)
        if await uow.disputes.insert_if_absent(_new_row(record, incoming, found, now)):
            await _announce(uow, record.id, found, now=now)
            _log.info(
                "dispute.created",
                dispute_id=record.id,
                status=incoming.value,
                linked=found is not None,
                cause=cause,
            )
            return await uow.disputes.get(record.id)
        row = await uow.disputes.get(record.id, for_update=True)  # created concurrently
        assert row is not None
    changes = merged_fields(row, record)
    if incoming is not None:
        stored = parse_status(row["status"])
        transition = advance(stored, incoming)
        if transition.impossible:
            _log.warning(
                "dispute.transition.refused",
                dispute_id=record.id,
                stored=row["status"],
                incoming=incoming.value,
                cause=cause,
            )
        elif transition.changed:
            changes["status"] = transition.status.value
    payment: RowMapping | None = None
    if row["payment_id"] is None:
        payment = await find_payment(uow, record)
        if payment is not None:
            changes["payment_id"] = payment["id"]
    elif changes:
        payment = await _locked_payment(uow, str(row["payment_id"]))
    if not changes:
        return row
    await uow.disputes.update(
        record.id, {**changes, "version": int(row["version"]) + 1, "updated_at": now}
    )
    await _announce(uow, record.id, payment, now=now)
    _log.info(
        "dispute.updated",
        dispute_id=record.id,
        status=changes.get("status", row["status"]),
        changed=sorted(changes),
        cause=cause,
    )
    return await uow.disputes.get(record.id)


async def link_waiting_disputes(uow: UnitOfWork, payment: RowMapping, *, now: datetime) -> int:
    """A payment paybridge just learnt of adopts the disputes that named it; it is marked
    disputed (the caller's ledger update bumps its version, so its sync writes the Cases)."""
    waiting = await uow.disputes.unlinked(
        checkout_payment_id=payment["checkout_payment_id"],
        reference=payment["reference"],
        for_update=True,
    )
    for row in waiting:
        await uow.disputes.update(
            row["id"],
            {"payment_id": payment["id"], "version": int(row["version"]) + 1, "updated_at": now},
        )
    if waiting:
        await uow.payments.update(payment["id"], {"disputed": True})
        _log.info(
            "dispute.linked",
            checkout_payment_id=payment["checkout_payment_id"],
            disputes=[row["id"] for row in waiting],
        )
    return len(waiting)
