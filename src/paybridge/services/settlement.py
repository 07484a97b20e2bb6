"""Settlement and fees of captures and refunds, learnt from Checkout.com's financial actions.

`settle_payment` asks for one payment's financial actions (no transaction open), then folds
them under the payment's row lock: a figure is replaced only by a later one (`domain.
settlement`), and when anything changed the payment's version moves and its Salesforce sync
is queued. The daily sweep (`settlement.sweep`, one task per day) walks the payments with a
capture or refund that day, plus older ones still unsettled, a batch per run: each run
records where it stopped in the next run's task, so an outage or a restart resumes there.
When a day's sweep ends, captures unsettled for longer than the configured days become WARN
integration logs (mirrored to Salesforce) and a metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import structlog
from pydantic import SecretStr
from sqlalchemy import RowMapping

from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.domain.clock import Clock
from paybridge.domain.money import format_major
from paybridge.domain.settlement import Settlement, fold_settlements, later
from paybridge.mapping.checkout_settlement import settlements_of
from paybridge.mapping.markets_file import market_secret_key
from paybridge.metrics import Metrics
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.services.audit import log_row, warning_row
from paybridge.services.ledger import enqueue_sync
from paybridge.services.outages import is_outage
from paybridge.services.ports import CheckoutFinancialActions
from paybridge.services.salesforce_logs import add_integration_log, add_payment_warning
from paybridge.services.tasks import BatchHandler, Dead, Done, Outcome, Postpone, Task, one_by_one

_log = structlog.get_logger(__name__)

SWEEP_TASK = "settlement.sweep"
DAILY_TASK = "settlement.daily"
UNSETTLED_OPERATION = "settlement.unsettled"
FETCH_OPERATION = "settlement.financial_actions"
UNSETTLED_ERROR_CODE = "capture_unsettled"


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementConfig:
    unsettled_after: timedelta = timedelta(days=3)
    lookback: timedelta = timedelta(days=14)
    batch: int = 50
    sweep_hour_utc: int = 1


def sweep_key(day: date) -> str:
    return f"settlement:sweep:{day.isoformat()}"


def _row_of(settlement: Settlement, *, payment_id: str, now: datetime) -> dict[str, Any]:
    return {
        "checkout_action_id": settlement.checkout_action_id,
        "payment_id": payment_id,
        "action_type": settlement.action_type,
        "currency": settlement.currency,
        "gross_minor": settlement.gross_minor,
        "processing_fees_minor": settlement.processing_fees_minor,
        "scheme_fees_minor": settlement.scheme_fees_minor,
        "interchange_minor": settlement.interchange_minor,
        "payout_id": settlement.payout_id,
        "settled_on": settlement.settled_on,
        "processed_at": settlement.processed_at,
        "created_at": now,
        "updated_at": now,
    }


def settlement_of_row(row: RowMapping, *, checkout_payment_id: str) -> Settlement:
    return Settlement(
        checkout_action_id=row["checkout_action_id"],
        checkout_payment_id=checkout_payment_id,
        action_type=row["action_type"],
        currency=row["currency"],
        processed_at=row["processed_at"],
        settled_on=row["settled_on"],
        gross_minor=row["gross_minor"],
        processing_fees_minor=int(row["processing_fees_minor"]),
        scheme_fees_minor=int(row["scheme_fees_minor"]),
        interchange_minor=int(row["interchange_minor"]),
        payout_id=row["payout_id"],
    )


def settlements_by_action(
    rows: Iterable[RowMapping], *, checkout_payment_id: str
) -> dict[str, Settlement]:
    """A payment's stored figures, by the action id they settle."""
    return {
        row["checkout_action_id"]: settlement_of_row(row, checkout_payment_id=checkout_payment_id)
        for row in rows
    }


async def apply_settlements(
    uow: UnitOfWork, payment: RowMapping, observations: Iterable[Settlement], *, now: datetime
) -> int:
    """Fold `observations` into the stored figures of `payment` (read `for_update` in this
    transaction); how many actions' figures changed. A change queues the Salesforce sync."""
    changed = 0
    for settlement in fold_settlements(observations).values():
        if settlement.checkout_payment_id != payment["checkout_payment_id"]:
            continue  # another payment's action: never folded into this one
        row = _row_of(settlement, payment_id=payment["id"], now=now)
        if await uow.settlements.insert_if_absent(row):
            changed += 1
            continue
        stored = await uow.settlements.get(settlement.checkout_action_id)
        assert stored is not None
        if stored["payment_id"] != payment["id"]:
            continue
        known = settlement_of_row(stored, checkout_payment_id=payment["checkout_payment_id"])
        if later(known, settlement) == known:
            continue  # a duplicate, or an older figure than the one that stands
        del row["created_at"]
        await uow.settlements.replace(settlement.checkout_action_id, row)
        changed += 1
    if changed:
        await uow.payments.bump_version(payment["id"], {"updated_at": now})
        await enqueue_sync(uow, payment["id"], now=now)
    return changed


class SettlementService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        checkout: CheckoutFinancialActions,
        clock: Clock,
        metrics: Metrics,
        market_secret_keys: Mapping[str, SecretStr] | None = None,
        config: SettlementConfig = SettlementConfig(),
    ) -> None:
        self._uow = uow
        self._checkout = checkout
        self._clock = clock
        self._metrics = metrics
        self._market_secret_keys = dict(market_secret_keys or {})
        self._config = config

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {
            SWEEP_TASK: one_by_one(self._sweep_task),
            DAILY_TASK: one_by_one(self._daily_task),
        }

    # --- one payment -----------------------------------------------------------------------

    async def settle_payment(self, checkout_payment_id: str, *, market: str | None = None) -> int:
        """Ask Checkout.com for the payment's financial actions and fold them in."""
        secret_key = market_secret_key(self._market_secret_keys, market)
        found = await self._checkout.financial_actions_of_payment(
            checkout_payment_id, secret_key=secret_key
        )
        observations = settlements_of(found)
        if not observations:
            return 0
        now = self._clock()
        async with self._uow() as uow:
            payment = await uow.payments.get_by_checkout_id(checkout_payment_id, for_update=True)
            if payment is None:
                return 0
            changed = await apply_settlements(uow, payment, observations, now=now)
            await uow.commit()
        if changed:
            _log.info("settlement.folded", checkout_payment_id=checkout_payment_id, changed=changed)
        return changed

    # --- the sweep -------------------------------------------------------------------------

    async def enqueue_sweeps(self, first: date, last: date) -> list[date]:
        """One sweep task per day of [first, last] (a day already pending is left as it is)."""
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        now = self._clock()
        async with self._uow() as uow:
            for day in days:
                await uow.outbox.enqueue(
                    SWEEP_TASK,
                    {"day": day.isoformat(), "after": ""},
                    now=now,
                    dedupe_key=sweep_key(day),
                )
            await uow.commit()
        return days

    async def sweep_batch(self, day: date, *, after: str = "") -> str | None:
        """Settle the next batch of the day's payments; the id to resume after, or None when
        the day is done. Raises what Checkout.com raised (the caller decides about outages)."""
        start = datetime.combine(day, time(), tzinfo=UTC)
        async with self._uow() as uow:
            due = await uow.settlements.payments_to_sweep(
                start=start,
                end=start + timedelta(days=1),
                unsettled_since=start - self._config.lookback,
                after=after,
                limit=self._config.batch,
            )
        for payment in due:
            checkout_id = payment["checkout_payment_id"]
            try:
                await self.settle_payment(checkout_id, market=payment["market"])
            except CheckoutError as error:
                if is_outage(error):
                    raise
                # This payment's own refusal (unknown to Checkout.com, not allowed): logged,
                # and the rest of the day is still swept.
                await self._log_refusal(payment, error)
        if len(due) < self._config.batch:
            return None
        return str(due[-1]["id"])

    async def _log_refusal(self, payment: RowMapping, error: CheckoutError) -> None:
        """An ERROR integration log of a refused financial-actions call. Answered calls are
        not logged one by one (a day's sweep would cost Salesforce a record per payment);
        they are counted in `paybridge_checkout_calls_total{operation="financial_actions.list"}`."""
        _log.warning(
            "settlement.payment_refused",
            checkout_payment_id=payment["checkout_payment_id"],
            code=error.code,
        )
        now = self._clock()
        row = log_row(
            [],
            operation=FETCH_OPERATION,
            now=now,
            correlation_id=None,
            payment_id=payment["id"],
            checkout_payment_id=payment["checkout_payment_id"],
            error_code=error.code,
            message=error.message,
        )
        async with self._uow() as uow:
            await add_integration_log(uow, {**row, "http_status": error.upstream_status}, now=now)
            await uow.commit()

    async def sweep_day(self, day: date) -> None:
        """The whole day at once (an operator's run; the worker goes a batch per task)."""
        after: str | None = ""
        while after is not None:
            after = await self.sweep_batch(day, after=after)
        await self.warn_unsettled()

    async def _sweep_task(self, task: Task) -> Outcome:
        try:
            day = date.fromisoformat(str(task.payload["day"]))
        except (KeyError, ValueError):
            return Dead(f"malformed settlement sweep task: {task.payload!r}")
        after = str(task.payload.get("after") or "")
        try:
            resume_after = await self.sweep_batch(day, after=after)
        except CheckoutError as error:
            if is_outage(error):  # attempts kept; the same batch is asked again later
                return Postpone(error.message, whole_lane=error.is_transient)
            raise
        now = self._clock()
        if resume_after is None:
            await self.warn_unsettled()
            return Done()
        async with self._uow() as uow:
            await uow.outbox.enqueue(
                SWEEP_TASK,
                {"day": day.isoformat(), "after": resume_after},
                now=now,
                dedupe_key=sweep_key(day),
            )
            await uow.commit()
        return Done()

    async def schedule_daily(self) -> None:
        """Make sure the daily task is pending (coalesces across processes and restarts)."""
        now = self._clock()
        async with self._uow() as uow:
            await uow.outbox.enqueue(
                DAILY_TASK, {}, now=now, dedupe_key=DAILY_TASK, run_at=self._next_daily(now)
            )
            await uow.commit()

    def _next_daily(self, now: datetime) -> datetime:
        today = datetime.combine(now.date(), time(self._config.sweep_hour_utc), tzinfo=UTC)
        return today if today > now else today + timedelta(days=1)

    async def _daily_task(self, _task: Task) -> Outcome:
        now = self._clock()
        yesterday = now.date() - timedelta(days=1)
        await self.enqueue_sweeps(yesterday, yesterday)
        async with self._uow() as uow:
            await uow.outbox.enqueue(
                DAILY_TASK,
                {},
                now=now,
                dedupe_key=DAILY_TASK,
                run_at=self._next_daily(now + timedelta(seconds=1)),
            )
            await uow.commit()
        return Done()

    # --- unsettled captures ------------------------------------------------------------------

    async def warn_unsettled(self, *, limit: int = 500) -> int:
        """A WARN integration log (once per capture) and the metric for every capture still
        without settlement `unsettled_after` after it succeeded."""
        now = self._clock()
        warned = 0
        async with self._uow() as uow:
            late = await uow.settlements.unsettled_captures(
                captured_before=now - self._config.unsettled_after, limit=limit
            )
            for capture in late:
                if not await uow.settlements.mark_unsettled_warned(capture["id"], at=now):
                    continue
                await add_payment_warning(uow, self._unsettled_row(capture, now=now), now=now)
                warned += 1
            await uow.commit()
        if warned:
            self._metrics.unsettled_captures.inc(warned)
            _log.warning("settlement.captures_unsettled", captures=warned)
        return warned

    def _unsettled_row(self, capture: RowMapping, *, now: datetime) -> dict[str, Any]:
        days = self._config.unsettled_after.days
        amount = capture["amount_minor"]
        currency = capture["currency"]
        shown = "" if amount is None else f" of {format_major(amount, currency)} {currency}"
        return warning_row(
            operation=UNSETTLED_OPERATION,
            error_code=UNSETTLED_ERROR_CODE,
            now=now,
            payment_id=capture["payment_id"],
            checkout_payment_id=capture["checkout_payment_id"],
            action_id=capture["checkout_action_id"],
            message=f"The capture{shown} has no settlement from Checkout.com {days} days after "
            "it succeeded: check it in the Checkout.com dashboard.",
        )
