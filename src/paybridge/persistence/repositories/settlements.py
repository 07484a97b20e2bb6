"""Settlement figures of captures and refunds, and the payments and actions the settlement
sweep and the authorization-expiry watch look at."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paybridge.persistence.dialect import upsertable_insert
from paybridge.persistence.grouping import group_by
from paybridge.persistence.tables import action_settlements, payment_actions, payments

_SETTLED_TYPES = ("capture", "refund")
_SUCCEEDED = "Succeeded"


def _happened_at() -> Any:
    return func.coalesce(payment_actions.c.processed_at, payment_actions.c.created_at)


def _actions_with_settlement() -> Any:
    """Payments ⋈ their actions ⟕ the actions' settlements (none: not settled yet)."""
    return payments.join(payment_actions, payment_actions.c.payment_id == payments.c.id).outerjoin(
        action_settlements,
        action_settlements.c.checkout_action_id == payment_actions.c.checkout_action_id,
    )


def _real_action_ids() -> Any:
    # Placeholders (`pay_…:capture`, `requested:…`) have no financial actions of their own.
    return payment_actions.c.checkout_action_id.like("act\\_%", escape="\\")


class SettlementRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_payments(self, payment_ids: Sequence[str]) -> dict[str, list[RowMapping]]:
        """The standing figures of several payments' actions, by payment id."""
        if not payment_ids:
            return {}
        stmt = (
            select(action_settlements)
            .where(action_settlements.c.payment_id.in_(list(payment_ids)))
            .order_by(action_settlements.c.processed_at, action_settlements.c.checkout_action_id)
        )
        return group_by(await self._conn.execute(stmt), "payment_id")

    async def insert_if_absent(self, values: dict[str, Any]) -> bool:
        stmt = (
            upsertable_insert(self._conn, action_settlements)
            .on_conflict_do_nothing(index_elements=["checkout_action_id"])
            .returning(action_settlements.c.checkout_action_id)
        )
        return (await self._conn.execute(stmt, values)).first() is not None

    async def get(self, checkout_action_id: str) -> RowMapping | None:
        stmt = select(action_settlements).where(
            action_settlements.c.checkout_action_id == checkout_action_id
        )
        return (await self._conn.execute(stmt)).mappings().first()

    async def replace(self, checkout_action_id: str, values: dict[str, Any]) -> None:
        await self._conn.execute(
            update(action_settlements)
            .where(action_settlements.c.checkout_action_id == checkout_action_id)
            .values(**values)
        )

    # --- the sweep --------------------------------------------------------------------------

    async def payments_to_sweep(
        self,
        *,
        start: datetime,
        end: datetime,
        unsettled_since: datetime,
        after: str,
        limit: int,
    ) -> list[RowMapping]:
        """Payments (id, checkout id, market) with a capture or refund that happened in
        [start, end), or one from [unsettled_since, start) still without a settlement; in id
        order after `after`, so a sweep resumes where it stopped."""
        at = _happened_at()
        unsettled = action_settlements.c.checkout_action_id.is_(None)
        stmt = (
            select(payments.c.id, payments.c.checkout_payment_id, payments.c.market)
            .select_from(_actions_with_settlement())
            .where(
                payment_actions.c.type.in_(_SETTLED_TYPES),
                payment_actions.c.status == _SUCCEEDED,
                # A placeholder (`pay_…:capture`, its webhook still to come) counts too: the
                # financial action names the real id, which the webhook will bring.
                or_(
                    and_(at >= start, at < end),
                    and_(at >= unsettled_since, at < start, unsettled),
                ),
                payments.c.id > after,
            )
            .group_by(payments.c.id, payments.c.checkout_payment_id, payments.c.market)
            .order_by(payments.c.id)
            .limit(limit)
        )
        return list((await self._conn.execute(stmt)).mappings().all())

    async def unsettled_captures(
        self, *, captured_before: datetime, limit: int
    ) -> list[RowMapping]:
        """Succeeded captures older than `captured_before`, with no settlement and no warning
        yet (the action row and its payment's ids)."""
        stmt = (
            select(
                payment_actions.c.id,
                payment_actions.c.checkout_action_id,
                payment_actions.c.amount_minor,
                payment_actions.c.processed_at,
                payment_actions.c.created_at,
                payments.c.id.label("payment_id"),
                payments.c.checkout_payment_id,
                payments.c.currency,
            )
            .select_from(_actions_with_settlement())
            .where(
                payment_actions.c.type == "capture",
                payment_actions.c.status == _SUCCEEDED,
                _real_action_ids(),
                _happened_at() < captured_before,
                action_settlements.c.checkout_action_id.is_(None),
                payment_actions.c.unsettled_warned_at.is_(None),
            )
            .order_by(_happened_at(), payment_actions.c.id)
            .limit(limit)
        )
        return list((await self._conn.execute(stmt)).mappings().all())

    async def mark_unsettled_warned(self, action_row_id: str, *, at: datetime) -> bool:
        """True for the one transaction that marks it (a second warner finds it marked)."""
        result = await self._conn.execute(
            update(payment_actions)
            .where(
                payment_actions.c.id == action_row_id,
                payment_actions.c.unsettled_warned_at.is_(None),
            )
            .values(unsettled_warned_at=at)
        )
        return bool(result.rowcount)
