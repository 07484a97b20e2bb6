"""Authorizations still open: those whose expiry is not stamped yet, and those about to lapse."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.tables import payment_actions, payments

# Statuses whose authorization can still lapse with money left to capture.
OPEN_STATUSES = ("Authorized", "Partially Captured")
UNCAPTURED_STATUS = "Authorized"


class AuthorizationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def without_expiry(self, *, limit: int) -> Sequence[RowMapping]:
        """Open authorizations whose expiry is not stamped yet (payment id, method, market,
        created_at, and when the authorization action was processed or requested)."""
        authorization = (
            select(
                payment_actions.c.payment_id,
                payment_actions.c.processed_at,
                payment_actions.c.requested_at,
            )
            .where(payment_actions.c.type == "authorization")
            .subquery()
        )
        stmt = (
            select(
                payments.c.id,
                payments.c.payment_method,
                payments.c.market,
                payments.c.created_at,
                authorization.c.processed_at,
                authorization.c.requested_at,
            )
            .select_from(
                payments.outerjoin(authorization, authorization.c.payment_id == payments.c.id)
            )
            .where(
                payments.c.status.in_(OPEN_STATUSES),
                payments.c.authorization_expires_at.is_(None),
            )
            .order_by(payments.c.created_at, payments.c.id)
            .limit(limit)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def expiring(self, *, before: datetime, limit: int) -> Sequence[RowMapping]:
        """Uncaptured authorizations expiring before `before`, not warned about yet."""
        stmt = (
            select(payments)
            .where(
                payments.c.status == UNCAPTURED_STATUS,
                payments.c.authorization_expires_at <= before,
                payments.c.expiry_warned_at.is_(None),
            )
            .order_by(payments.c.authorization_expires_at, payments.c.id)
            .limit(limit)
        )
        return (await self._conn.execute(stmt)).mappings().all()

    async def mark_warned(self, payment_id: str, *, at: datetime) -> bool:
        """True for the one transaction that marks it (a concurrent checker finds it marked)."""
        result = await self._conn.execute(
            update(payments)
            .where(payments.c.id == payment_id, payments.c.expiry_warned_at.is_(None))
            .values(expiry_warned_at=at)
        )
        return bool(result.rowcount)
