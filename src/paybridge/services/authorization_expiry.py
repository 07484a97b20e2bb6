"""Authorizations that expire: stamp each open one with its expiry, warn before it lapses.

A periodic task (`authorizations.check_expiry`) stamps open authorizations with their expiry
(the method's validity from the markets file, else the default) — the payment's version
moves, so Salesforce gets `Expires_At__c` — and turns every uncaptured one inside the warning
window into a WARN integration log (once per payment; mirrored to Salesforce, where a Flow can
alert the owner) and the `paybridge_expiring_authorizations` metric. The lapse itself comes
from Checkout.com (`payment_expired`, or reconciliation), which sets `Expired`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import RowMapping

from paybridge.domain.authorization_expiry import (
    CARD_AUTHORIZATION_VALIDITY,
    authorization_expires_at,
    is_due_for_warning,
)
from paybridge.domain.clock import Clock
from paybridge.domain.markets import MarketBook
from paybridge.mapping.salesforce_records import to_salesforce_datetime
from paybridge.metrics import Metrics
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.audit import warning_row
from paybridge.services.ledger import enqueue_sync
from paybridge.services.salesforce_logs import add_payment_warning
from paybridge.services.tasks import BatchHandler, Done, Outcome, Task, one_by_one

_log = structlog.get_logger(__name__)

CHECK_TASK = "authorizations.check_expiry"
WARNING_OPERATION = "authorization.expiring"
WARNING_ERROR_CODE = "authorization_expiring"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiryConfig:
    default_validity: timedelta = CARD_AUTHORIZATION_VALIDITY
    warn_before: timedelta = timedelta(hours=24)
    check_every: timedelta = timedelta(minutes=15)
    batch: int = 200


class AuthorizationExpiryService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        metrics: Metrics,
        markets: MarketBook,
        config: ExpiryConfig = ExpiryConfig(),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._metrics = metrics
        self._markets = markets
        self._config = config

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {CHECK_TASK: one_by_one(self._check_task)}

    async def schedule_checks(self) -> None:
        """Make sure one check is pending (coalesces across processes)."""
        async with self._uow() as uow:
            await uow.outbox.enqueue(CHECK_TASK, {}, now=self._clock(), dedupe_key=CHECK_TASK)
            await uow.commit()

    async def _check_task(self, _task: Task) -> Outcome:
        await self.check()
        now = self._clock()
        async with self._uow() as uow:
            await uow.outbox.enqueue(
                CHECK_TASK,
                {},
                now=now,
                dedupe_key=CHECK_TASK,
                run_at=now + self._config.check_every,
            )
            await uow.commit()
        return Done()

    async def check(self) -> tuple[int, int]:
        """Stamp, then warn; (stamped, warned)."""
        stamped = await self.stamp_expiries()
        warned = await self.warn_expiring()
        return stamped, warned

    def expires_at(self, row: RowMapping) -> datetime:
        authorized_at = row["processed_at"] or row["requested_at"] or row["created_at"]
        market = self._markets.get(row["market"]) if row["market"] else None
        validity = {
            method: timedelta(hours=float(hours))
            for method, hours in (market.authorization_validity_h if market else ())
        }
        return authorization_expires_at(
            authorized_at,
            method=row["payment_method"],
            validity_by_method=validity,
            default=self._config.default_validity,
        )

    async def stamp_expiries(self) -> int:
        now = self._clock()
        async with self._uow() as uow:
            rows = await uow.authorizations.without_expiry(limit=self._config.batch)
            for row in rows:
                values = {"authorization_expires_at": self.expires_at(row), "updated_at": now}
                await uow.payments.bump_version(row["id"], values)
                await enqueue_sync(uow, row["id"], now=now)
            await uow.commit()
        return len(rows)

    async def warn_expiring(self) -> int:
        if self._config.warn_before <= timedelta(0):
            return 0
        now = self._clock()
        warned = 0
        async with self._uow() as uow:
            due = await uow.authorizations.expiring(
                before=now + self._config.warn_before, limit=self._config.batch
            )
            for payment in due:
                expires = payment["authorization_expires_at"]
                if not is_due_for_warning(expires, now=now, warn_before=self._config.warn_before):
                    continue
                if not await uow.authorizations.mark_warned(payment["id"], at=now):
                    continue
                await add_payment_warning(uow, self._warning_row(payment, now=now), now=now)
                warned += 1
            await uow.commit()
        if warned:
            self._metrics.expiring_authorizations.inc(warned)
            _log.warning("authorization.expiring", authorizations=warned)
        return warned

    @staticmethod
    def _warning_row(payment: RowMapping, *, now: datetime) -> dict[str, Any]:
        expires: datetime = payment["authorization_expires_at"]
        lapsed = expires <= now
        return warning_row(
            operation=WARNING_OPERATION,
            error_code=WARNING_ERROR_CODE,
            now=now,
            payment_id=payment["id"],
            checkout_payment_id=payment["checkout_payment_id"],
            message=f"The authorization {'expired' if lapsed else 'expires'} at "
            f"{to_salesforce_datetime(expires)} and nothing is captured yet: capture or void it.",
        )
