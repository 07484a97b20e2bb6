"""Audit trail: integration log rows for Checkout.com calls (the client reports each attempt;
the use case that made the call adds its own ids) and for webhooks processed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from paybridge.adapters.checkout.client import CheckoutCallRecord
from paybridge.domain.facts import ActionFact
from paybridge.domain.ids import new_id
from paybridge.metrics import Metrics

# The list of the call currently being made by this task; None outside `collecting()`.
_collected: ContextVar[list[CheckoutCallRecord] | None] = ContextVar(
    "paybridge_checkout_calls", default=None
)


class CheckoutCallRecorder:
    """The `on_call` hook of the Checkout.com client: metrics always, audit when collecting."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, record: CheckoutCallRecord) -> None:
        outcome = record.error_code or "ok"
        self._metrics.checkout_calls.labels(record.operation, outcome).inc()
        self._metrics.checkout_latency.labels(record.operation).observe(record.duration_ms / 1000)
        collected = _collected.get()
        if collected is not None:
            collected.append(record)


@contextmanager
def collecting() -> Iterator[list[CheckoutCallRecord]]:
    records: list[CheckoutCallRecord] = []
    token = _collected.set(records)
    try:
        yield records
    finally:
        _collected.reset(token)


def log_row(
    records: list[CheckoutCallRecord],
    *,
    operation: str,
    now: datetime,
    correlation_id: str | None,
    payment_id: str | None = None,
    checkout_payment_id: str | None = None,
    action_id: str | None = None,
    error_code: str | None = None,
    message: str | None = None,
    summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One integration log row for one logical call (all its attempts)."""
    last = records[-1] if records else None
    failed = error_code is not None or (last is not None and last.error_code is not None)
    return {
        "id": new_id(),
        "payment_id": payment_id,
        "checkout_payment_id": checkout_payment_id,
        "level": "ERROR" if failed else "INFO",
        "operation": operation,
        "direction": "Outbound",
        "http_status": last.http_status if last else None,
        "duration_ms": round(sum(r.duration_ms for r in records)) if records else None,
        "correlation_id": correlation_id,
        "cko_request_id": last.request_id if last else None,
        "cko_event_id": None,
        "cko_action_id": action_id,
        "error_code": error_code or (last.error_code if last else None),
        "message": message,
        "summary": {"attempts": len(records), **(summary or {})},
        "occurred_at": now,
        "sync_status": "pending",
        "synced_at": None,
    }


def warning_row(
    *,
    operation: str,
    error_code: str,
    message: str,
    now: datetime,
    payment_id: str,
    checkout_payment_id: str,
    action_id: str | None = None,
) -> dict[str, Any]:
    """A WARN integration log about a payment that paybridge itself noticed (no call made):
    something someone should act on before it becomes a loss (an authorization about to
    expire, a capture Checkout.com has not settled)."""
    row = log_row(
        [],
        operation=operation,
        now=now,
        correlation_id=None,
        payment_id=payment_id,
        checkout_payment_id=checkout_payment_id,
        action_id=action_id,
        message=message,
    )
    return {**row, "level": "WARN", "error_code": error_code, "direction": "Inbound"}


def webhook_log_row(
    *,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    payment_id: str | None,
    checkout_payment_id: str | None,
    action_id: str | None = None,
    error_code: str | None = None,
    summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One integration log row for one processed webhook (Inbound)."""
    return {
        "id": new_id(),
        "payment_id": payment_id,
        "checkout_payment_id": checkout_payment_id,
        "level": "ERROR" if error_code else "INFO",
        "operation": f"webhook.{event_type}"[:64],
        "direction": "Inbound",
        "http_status": 200,
        "duration_ms": None,
        "correlation_id": None,
        "cko_request_id": None,
        "cko_event_id": event_id,
        "cko_action_id": action_id,
        "error_code": error_code,
        "message": None,
        "summary": {"type": event_type, **(summary or {})},
        "occurred_at": occurred_at,
        "sync_status": "pending",
        "synced_at": None,
    }


def amount_mismatch_row(
    payment: RowMapping, action: RowMapping, fact: ActionFact, *, now: datetime
) -> dict[str, Any]:
    """The ERROR log of an action Checkout.com reports with another amount than the one
    paybridge reserved and sent: Checkout.com's figure is kept, someone should look."""
    return {
        **log_row(
            [],
            operation=f"payments.{action['type']}",
            now=now,
            correlation_id=None,
            payment_id=payment["id"],
            checkout_payment_id=payment["checkout_payment_id"],
            action_id=fact.action_key,
            error_code="amount_mismatch",
            message=f"Checkout.com reports {fact.amount_minor} (minor units) for this "
            f"{action['type']}; paybridge reserved {action['amount_minor']}. Checkout.com's "
            "amount is kept.",
        ),
        "direction": "Inbound",
    }
