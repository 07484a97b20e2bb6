"""Integration logs on their way to Salesforce: adding one, the sweep task, row → snapshot.

A log that belongs to a payment travels with that payment's sync. Logs with no payment (a
quarantined webhook, a payment that was never created) and logs added after their payment's
last sync are written by the `salesforce.sync_logs` sweep, which reschedules itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from paybridge.domain.ids import new_id
from paybridge.mapping.salesforce_records import LogSnapshot
from paybridge.persistence.uow import UnitOfWork
from paybridge.services.ledger import enqueue_sync

SYNC_LOGS_TASK = "salesforce.sync_logs"
SYNC_LOGS_KEY = "sync:logs"
SYNC_FAILURE_OPERATION = "salesforce.upsert"

PENDING = "pending"
SYNCED = "synced"
SKIPPED = "skipped"  # its level is not mirrored to Salesforce
FAILED = "failed"  # Salesforce refused the record itself; kept, with the reason in the logs


def normalise_level(level: str) -> str:
    """`warning`, `Warn` → `WARN`: the spelling integration log rows use."""
    upper = level.strip().upper()
    return "WARN" if upper == "WARNING" else upper


async def schedule_log_sweep(
    uow: UnitOfWork, *, now: datetime, run_at: datetime | None = None
) -> None:
    """Make sure one sweep is pending (coalesces with any other pending one)."""
    await uow.outbox.enqueue(
        SYNC_LOGS_TASK, {}, now=now, dedupe_key=SYNC_LOGS_KEY, run_at=run_at or now
    )


async def sweep_logs_now(uow: UnitOfWork, *, now: datetime) -> None:
    """A sweep due now, even if the periodic one is not due yet (an operator asked)."""
    await uow.outbox.enqueue_or_bring_forward(
        SYNC_LOGS_TASK, {}, dedupe_key=SYNC_LOGS_KEY, run_at=now, now=now
    )


async def add_integration_log(uow: UnitOfWork, row: dict[str, Any], *, now: datetime) -> None:
    """Add a log row; one without a payment schedules the sweep that mirrors it."""
    await uow.logs.add(row)
    if row.get("payment_id") is None:
        await schedule_log_sweep(uow, now=now)


async def add_payment_warning(uow: UnitOfWork, row: dict[str, Any], *, now: datetime) -> None:
    """Add a WARN log about a payment and queue the payment's sync, so the warning reaches
    Salesforce (where a Flow can alert the owner) with the next write, not the next sweep."""
    await add_integration_log(uow, row, now=now)
    await enqueue_sync(uow, str(row["payment_id"]), now=now)


def sync_failure_row(
    payment: RowMapping, *, error_code: str, message: str, now: datetime
) -> dict[str, Any]:
    """The integration log of a payment Salesforce refused (kept even if it never gets there)."""
    return {
        "id": new_id(),
        "payment_id": payment["id"],
        "checkout_payment_id": payment["checkout_payment_id"],
        "level": "ERROR",
        "operation": SYNC_FAILURE_OPERATION,
        "direction": "Outbound",
        "http_status": None,
        "duration_ms": None,
        "correlation_id": None,
        "cko_request_id": None,
        "cko_event_id": None,
        "cko_action_id": None,
        "error_code": error_code[:64],
        "message": message,
        "summary": {"version": int(payment["version"])},
        "occurred_at": now,
        "sync_status": PENDING,
        "synced_at": None,
    }


def log_snapshot(row: RowMapping, *, link_payment: bool = True) -> LogSnapshot:
    """`link_payment=False` leaves the payment out (its Salesforce record may not exist)."""
    return LogSnapshot(
        id=row["id"],
        level=normalise_level(row["level"]),
        operation=row["operation"],
        direction=row["direction"],
        occurred_at=row["occurred_at"],
        http_status=row["http_status"],
        duration_ms=row["duration_ms"],
        correlation_id=row["correlation_id"],
        cko_request_id=row["cko_request_id"],
        cko_event_id=row["cko_event_id"],
        cko_action_id=row["cko_action_id"],
        error_code=row["error_code"],
        message=row["message"],
        checkout_payment_id=row["checkout_payment_id"] if link_payment else None,
    )
