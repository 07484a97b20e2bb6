"""Integration log records (mirrored to Salesforce by the sync worker)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    RowMapping,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.domain.redaction import Redact, redact_text
from paybridge.persistence.grouping import group_by
from paybridge.persistence.tables import integration_logs, outbox, payments


def _pending_for_payments() -> Select[*tuple[Any, ...]]:
    order = (integration_logs.c.occurred_at, integration_logs.c.id)
    rank = (
        func.row_number()
        .over(partition_by=integration_logs.c.payment_id, order_by=order)
        .label("rank")
    )
    ranked = (
        select(integration_logs, rank)
        .where(
            integration_logs.c.payment_id.in_(bindparam("payment_ids", expanding=True)),
            integration_logs.c.sync_status == "pending",
        )
        .subquery()
    )
    columns = [ranked.c[column.name] for column in integration_logs.c]
    return (
        select(*columns)
        .where(ranked.c.rank <= bindparam("limit", type_=Integer))
        .order_by(ranked.c.occurred_at, ranked.c.id)
    )


# The statements each event and each synced payment run are built once: a reused statement
# keeps its cache key, where building one per call costs CPU every time.
_ADD = insert(integration_logs)
_PENDING_FOR_PAYMENTS = _pending_for_payments()
_MARK = (
    update(integration_logs)
    .where(integration_logs.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(sync_status=bindparam("b_status"), synced_at=bindparam("b_at"))
)


class IntegrationLogRepository:
    def __init__(self, conn: AsyncConnection, *, redact: Redact = redact_text) -> None:
        self._conn = conn
        self._redact = redact  # for error text it stores

    async def add(self, values: dict[str, Any]) -> None:
        """Store one log row; its message (often an upstream error's text) is redacted."""
        await self.add_many([values])

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store several log rows of one shape (the same columns) in one round trip."""
        if not rows:
            return
        redacted = [
            {**values, "message": self._redact(values["message"])}
            if values.get("message")
            else values
            for values in rows
        ]
        await self._conn.execute(_ADD, redacted)

    async def list_for_payment(self, payment_id: str) -> Sequence[RowMapping]:
        stmt = (
            select(integration_logs)
            .where(integration_logs.c.payment_id == payment_id)
            .order_by(integration_logs.c.occurred_at)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def pending_for_payments(
        self, payment_ids: Sequence[str], *, limit: int
    ) -> dict[str, list[RowMapping]]:
        """The oldest `limit` pending logs of each payment, in one round trip."""
        params = {"payment_ids": list(payment_ids), "limit": limit}
        return group_by(await self._conn.execute(_PENDING_FOR_PAYMENTS, params), "payment_id")

    async def pending_detached(self, *, limit: int, sync_key_prefix: str) -> Sequence[RowMapping]:
        """Pending logs no payment sync will carry: those without a payment, and those of a
        payment with no sync pending or running (`sync_key_prefix` + payment id is that
        sync's dedupe key) — one never synced included (parked on a refused record: its
        failure log must still get there). Adds `payment_synced` to each row, so a log of a
        payment not in Salesforce goes without the lookup to it."""
        sync_in_flight = exists(
            select(outbox.c.id).where(
                outbox.c.dedupe_key == literal(sync_key_prefix) + integration_logs.c.payment_id,
                outbox.c.status.in_(["pending", "running"]),
            )
        )
        payment_synced = and_(payments.c.id.is_not(None), payments.c.synced_version > 0)
        stmt = (
            select(integration_logs, payment_synced.label("payment_synced"))
            .select_from(
                integration_logs.outerjoin(payments, payments.c.id == integration_logs.c.payment_id)
            )
            .where(
                integration_logs.c.sync_status == "pending",
                or_(integration_logs.c.payment_id.is_(None), ~sync_in_flight),
            )
            .order_by(integration_logs.c.occurred_at, integration_logs.c.id)
            .limit(limit)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def pending(self, *, limit: int) -> Sequence[RowMapping]:
        stmt = (
            select(integration_logs)
            .where(integration_logs.c.sync_status == "pending")
            .order_by(integration_logs.c.occurred_at)
            .limit(limit)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def requeue_failed(self) -> int:
        """Logs Salesforce refused, pending again (after the cause was fixed); how many."""
        result = await self._conn.execute(
            update(integration_logs)
            .where(integration_logs.c.sync_status == "failed")
            .values(sync_status="pending", synced_at=None)
        )
        return int(result.rowcount)

    async def mark(self, log_ids: Sequence[str], *, status: str, at: datetime) -> None:
        if not log_ids:
            return
        await self._conn.execute(_MARK, {"b_ids": list(log_ids), "b_status": status, "b_at": at})
