"""Disputes: `dispute_*` events folded into the disputes table, linked to their payments.

`prepare` fetches the dispute from Checkout.com (no transaction open); `apply` merges it under
the dispute's row lock with the status lattice, links it to its payment (Checkout.com payment
id, else the payment reference) and bumps that payment, whose Salesforce sync then writes the
Case too. A dispute of a payment paybridge does not know is kept unlinked and synced alone
(`salesforce.sync_dispute`) until the payment turns up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from pydantic import SecretStr
from sqlalchemy import RowMapping

from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.domain.clock import Clock
from paybridge.domain.disputes import DisputeStatus, evidence_refusal, lost_minor
from paybridge.domain.money import format_major
from paybridge.errors import NotFound
from paybridge.mapping.checkout_disputes import (
    DisputeRecord,
    combine,
    from_dispute,
    from_event,
    status_for,
)
from paybridge.mapping.checkout_events import EventEnvelope
from paybridge.mapping.markets_file import market_secret_key
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.schemas.disputes import DisputeList, DisputeRead
from paybridge.services.audit import webhook_log_row
from paybridge.services.dispute_fold import fold_dispute
from paybridge.services.ports import CheckoutDisputes

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedDispute:
    """What `prepare` learnt: the dispute (resource and event combined), or None."""

    record: DisputeRecord | None
    fetched: bool


def dispute_read(row: RowMapping, payment: RowMapping | None, *, now: datetime) -> DisputeRead:
    status = DisputeStatus(row["status"])
    currency = row["currency"] or (payment["currency"] if payment is not None else None)
    amount = row["amount_minor"]

    def major(value: int | None) -> str | None:
        return None if value is None or not currency else format_major(value, currency)

    return DisputeRead(
        dispute_id=row["id"],
        status=status,
        category=row["category"],
        reason_code=row["reason_code"],
        amount=major(amount),
        amount_minor=amount,
        currency=currency,
        lost_amount=major(lost_minor(status, amount)),
        resolved_reason=row["resolved_reason"],
        evidence_required_by=row["evidence_required_by"],
        received_on=row["received_on"],
        last_update=row["last_update"],
        relevant_evidence=list(row["relevant_evidence"] or []),
        open_for_evidence=evidence_refusal(status, row["evidence_required_by"], now) is None,
        payment_id=row["checkout_payment_id"]
        or (payment["checkout_payment_id"] if payment is not None else None),
        payment_action_id=row["payment_action_id"],
        payment_reference=row["payment_reference"],
        payment_known=payment is not None,
        order_id=payment["order_id"] if payment is not None else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def load_dispute_read(uow: UnitOfWork, row: RowMapping, *, now: datetime) -> DisputeRead:
    payment = await uow.payments.get(row["payment_id"]) if row["payment_id"] else None
    return dispute_read(row, payment, now=now)


class DisputeService:
    """The `DisputeEvents` of the webhook worker, and the dispute reads of the API."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        checkout: CheckoutDisputes,
        clock: Clock,
        market_secret_keys: Mapping[str, SecretStr] | None = None,
    ) -> None:
        self._uow = uow
        self._checkout = checkout
        self._clock = clock
        self._market_secret_keys = dict(market_secret_keys or {})

    # --- webhook events --------------------------------------------------------------------

    async def prepare(self, event: EventEnvelope) -> PreparedDispute:
        """Read the dispute from Checkout.com; a transient failure raises (task retried), a
        final one (404, refused key) falls back on the event's own data."""
        seen = from_event(event)
        if seen is None:
            return PreparedDispute(record=None, fetched=False)
        secret_key = await self.secret_key_for(seen.id, seen.checkout_payment_id)
        try:
            dispute = await self._checkout.get_dispute(seen.id, secret_key=secret_key)
        except CheckoutError as error:
            if error.is_transient:
                raise
            _log.warning(
                "dispute.fetch.failed",
                dispute_id=seen.id,
                cko_event_id=event.id,
                error_code=error.code,
                upstream_status=error.upstream_status,
            )
            return PreparedDispute(record=seen, fetched=False)
        return PreparedDispute(record=combine(from_dispute(dispute), seen), fetched=True)

    async def apply(
        self, uow: UnitOfWork, event: EventEnvelope, prepared: Any, *, now: datetime
    ) -> None:
        record = prepared.record if isinstance(prepared, PreparedDispute) else None
        if record is None:
            _log.warning("dispute.event.unidentified", cko_event_id=event.id, event_type=event.type)
            await uow.logs.add(_event_log(event, None, now=now, error="dispute_unidentified"))
            return
        row = await fold_dispute(
            uow, record, status_for(record, event.type), now=now, cause=f"event:{event.type}"
        )
        error = None if row is not None else "dispute_status_unknown"
        await uow.logs.add(_event_log(event, row, now=now, error=error))

    # --- reads -----------------------------------------------------------------------------

    async def get(self, dispute_id: str) -> DisputeRead:
        async with self._uow() as uow:
            row = await uow.disputes.get(dispute_id)
            if row is None:
                raise NotFound(f"No dispute {dispute_id}.", code="dispute_not_found")
            return await load_dispute_read(uow, row, now=self._clock())

    async def list_for_payment(self, checkout_payment_id: str) -> DisputeList:
        """Disputes of a payment (also those not linked because the payment is unknown)."""
        now = self._clock()
        async with self._uow() as uow:
            payment = await uow.payments.get_by_checkout_id(checkout_payment_id)
            rows = await uow.disputes.list_naming_payment(
                checkout_payment_id, payment_id=payment["id"] if payment is not None else None
            )
            return DisputeList(disputes=[dispute_read(row, payment, now=now) for row in rows])

    # --- secret keys -----------------------------------------------------------------------

    async def secret_key_for(self, dispute_id: str, checkout_payment_id: str | None) -> str | None:
        """The market's own Checkout.com key when the disputed payment has one (read in a
        short transaction of its own), else None for the global key."""
        if not self._market_secret_keys:
            return None
        async with self._uow() as uow:
            row = await uow.disputes.get(dispute_id)
            payment = (
                await uow.payments.get(row["payment_id"]) if row and row["payment_id"] else None
            )
            if payment is None and checkout_payment_id:
                payment = await uow.payments.get_by_checkout_id(checkout_payment_id)
        market = payment["market"] if payment is not None else None
        return market_secret_key(self._market_secret_keys, market)


def _event_log(
    event: EventEnvelope, row: RowMapping | None, *, now: datetime, error: str | None
) -> dict[str, Any]:
    return webhook_log_row(
        event_id=event.id,
        event_type=event.type,
        occurred_at=event.occurred_at or now,
        payment_id=row["payment_id"] if row is not None else None,
        checkout_payment_id=row["checkout_payment_id"] if row is not None else None,
        error_code=error,
        summary={"dispute_id": event.subject_id},
    )
