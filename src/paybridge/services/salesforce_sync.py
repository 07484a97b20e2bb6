"""Mirror payments, their actions, disputes and integration logs into Salesforce.

Handlers of `salesforce.sync_payment` and `salesforce.sync_logs`. Each batch runs in phases
that never overlap: read the current state (one short transaction), compute the records
(pure mapping), write them (no transaction open), then record each payment's outcome (one
short transaction each). Records are full-state upserts, so a replay is harmless; what the
database says was synced is only ever what was actually written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import RowMapping

from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.errors import (
    SalesforceAuthError,
    SalesforceError,
    SalesforcePermanentError,
    SalesforceRateLimited,
)
from paybridge.domain.clock import Clock
from paybridge.mapping.salesforce_fields import ProfileMapping
from paybridge.mapping.salesforce_records import (
    CaseAssignment,
    SalesforceRecord,
    link_records,
    log_records,
)
from paybridge.metrics import Metrics
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.services.case_assignment import CaseAssignments
from paybridge.services.ledger import SYNC_PAYMENT_TASK
from paybridge.services.link_payments import SYNC_LINK_TASK
from paybridge.services.salesforce_logs import (
    FAILED,
    SKIPPED,
    SYNC_LOGS_TASK,
    SYNCED,
    add_integration_log,
    log_snapshot,
    normalise_level,
    schedule_log_sweep,
    sweep_logs_now,
    sync_failure_row,
)
from paybridge.services.salesforce_state import (
    link_snapshot,
    links_logs_to_payment,
    records_of,
    type_order,
)
from paybridge.services.salesforce_writes import SalesforceWriter, Write, WriteReport
from paybridge.services.tasks import BatchHandler, Dead, Done, Outcome, Postpone, Task

# `ledger.enqueue_sync` keys a payment's pending sync `sync:{payments.id}`.
PAYMENT_SYNC_KEY_PREFIX = "sync:"
_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """The knobs of `SalesforceSettings` the sync uses (see settings.py for their meaning)."""

    pause_on_limit: timedelta = timedelta(minutes=5)
    log_levels: frozenset[str] = frozenset({"INFO", "WARN", "ERROR"})
    log_throttle_ratio: float = 0.8
    log_sweep_interval: timedelta = timedelta(minutes=1)
    batch_threshold: int = 2
    logs_per_payment: int = 100
    logs_per_sweep: int = 1000


@dataclass
class _Payment:
    """One payment of a batch: its row as read, its records, and the logs riding along."""

    task_ids: list[int]
    row: RowMapping
    actions: Sequence[RowMapping] = ()
    disputes: Sequence[RowMapping] = ()
    log_rows: Sequence[RowMapping] = ()
    order_payments: Sequence[RowMapping] = ()
    links: Sequence[RowMapping] = ()
    settlements: Sequence[RowMapping] = ()
    records: list[SalesforceRecord] = field(default_factory=list)
    logs: list[tuple[str, SalesforceRecord]] = field(default_factory=list)
    skipped_logs: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.row["id"])

    def writes(self) -> list[Write]:
        own = [Write(owner=self.id, record=record) for record in self.records]
        return own + [Write(owner=self.id, record=rec, log_id=log) for log, rec in self.logs]


class SalesforceSyncService:
    """Writes payment state and integration logs to one Salesforce org."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        client: SalesforceClient,
        profile: ProfileMapping,
        cases: CaseAssignments,
        clock: Clock,
        metrics: Metrics,
        config: SyncConfig | None = None,
    ) -> None:
        self._uow = uow
        self._profile = profile
        self._cases = cases
        self._clock = clock
        self._config = config or SyncConfig()
        self._levels = frozenset(normalise_level(level) for level in self._config.log_levels)
        self._link_logs = links_logs_to_payment(profile)
        self._writer = SalesforceWriter(client, metrics=metrics, type_order=type_order(profile))

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {
            SYNC_PAYMENT_TASK: self.sync_payments,
            SYNC_LOGS_TASK: self.sync_logs,
            SYNC_LINK_TASK: self.sync_links,
        }

    async def schedule_log_sweep(self) -> None:
        """Start the periodic sweep of logs no payment sync carries (idempotent)."""
        async with self._uow() as uow:
            await schedule_log_sweep(uow, now=self._clock())
            await uow.commit()

    # --- payment links ---------------------------------------------------------------------

    async def sync_links(self, tasks: Sequence[Task]) -> Mapping[int, Outcome]:
        """Upsert the batch's links (full state, one grouped write). A paid link's record is
        written by its payment's sync instead, after the payment it looks up."""
        ids = {str(task.payload.get("link_id")): task.id for task in tasks}
        async with self._uow() as uow:
            rows = await uow.payment_links.get_many(list(ids))
        outcomes: dict[int, Outcome] = dict.fromkeys(ids.values(), Done())
        writes = [
            Write(owner=str(row["id"]), record=record)
            for row in rows
            if row["checkout_payment_id"] is None
            for record in link_records(self._profile, link_snapshot(row))
        ]
        if not writes:
            return outcomes
        report = await self._writer.grouped(writes)
        if report.interrupted is not None:
            _log_interruption(report.interrupted, kind=SYNC_LINK_TASK)
        for write in writes:
            task_id = ids[write.owner]
            failed = report.first_failure(write.owner)
            if failed is not None:
                reason = failed[1].describe(write.record)
                outcomes[task_id] = (
                    Postpone(reason, whole_lane=False) if failed[1].transient else Dead(reason)
                )
            elif not report.attempted(report.writes.index(write)):
                outcomes[task_id] = self._interrupted(report.interrupted, self._clock())
        return outcomes

    # --- payments ------------------------------------------------------------------------

    async def sync_payments(self, tasks: Sequence[Task]) -> Mapping[int, Outcome]:
        """Write every payment of the batch; one outcome per task."""
        now = self._clock()
        outcomes: dict[int, Outcome] = {}
        by_payment: dict[str, list[int]] = {}
        for task in tasks:
            payment_id = task.payload.get("payment_id")
            if isinstance(payment_id, str):
                by_payment.setdefault(payment_id, []).append(task.id)
            else:
                outcomes[task.id] = Dead("malformed sync task: no payment_id in its payload")
        hold_logs = self._writer.usage_above(self._config.log_throttle_ratio)
        payments = await self._load(by_payment, with_logs=not hold_logs, outcomes=outcomes)
        payments = [payment for payment in payments if await self._build(payment, outcomes, now)]
        writes = [payment.writes() for payment in payments]
        if len(payments) >= self._config.batch_threshold:
            report = await self._writer.grouped([write for unit in writes for write in unit])
        else:
            report = await self._writer.per_unit(writes)
        if report.interrupted is not None:
            _log_interruption(report.interrupted, kind=SYNC_PAYMENT_TASK)
        settled = [(payment, self._outcome(payment, report, now)) for payment in payments]
        for payment, outcome in settled:
            outcomes.update(dict.fromkeys(payment.task_ids, outcome))
        # Logs a synced payment leaves behind (held, or not reached) go with the next sweep;
        # a payment still to be retried carries its own logs then.
        if await self._record(settled, report, now) or (
            hold_logs and any(isinstance(outcome, Done) for _, outcome in settled)
        ):
            await self._schedule_sweep(now=now, later=hold_logs)
        return outcomes

    async def _load(
        self, by_payment: Mapping[str, list[int]], *, with_logs: bool, outcomes: dict[int, Outcome]
    ) -> list[_Payment]:
        """The batch's current rows, read in one short transaction of six queries."""
        ids = list(by_payment)
        async with self._uow() as uow:
            rows = {str(row["id"]): row for row in await uow.payments.get_many(ids)}
            order_ids = sorted({str(row["order_id"]) for row in rows.values() if row["order_id"]})
            siblings = await uow.payments.list_by_orders(order_ids)
            actions = await uow.payments.actions_of(ids)
            disputes = await uow.disputes.of_payments(ids)
            settlements = await uow.settlements.of_payments(ids)
            paid_links = await uow.payment_links.paid_by(
                [str(row["checkout_payment_id"]) for row in rows.values()]
            )
            logs = (
                await uow.logs.pending_for_payments(ids, limit=self._config.logs_per_payment)
                if with_logs
                else {}
            )
        of_order: dict[str, list[RowMapping]] = {}
        for sibling in siblings:
            of_order.setdefault(str(sibling["order_id"]), []).append(sibling)
        links_of: dict[str, list[RowMapping]] = {}
        for link in paid_links:
            links_of.setdefault(str(link["checkout_payment_id"]), []).append(link)
        loaded: list[_Payment] = []
        for payment_id, task_ids in by_payment.items():
            row = rows.get(payment_id)
            if row is None:
                outcomes.update(dict.fromkeys(task_ids, Dead(f"no payment {payment_id}")))
                continue
            loaded.append(
                _Payment(
                    task_ids=task_ids,
                    row=row,
                    actions=actions.get(payment_id, []),
                    disputes=disputes.get(payment_id, []),
                    settlements=settlements.get(payment_id, []),
                    log_rows=logs.get(payment_id, []),
                    order_payments=of_order.get(str(row["order_id"]), []),
                    links=links_of.get(str(row["checkout_payment_id"]), []),
                )
            )
        return loaded

    async def _build(self, payment: _Payment, outcomes: dict[int, Outcome], now: datetime) -> bool:
        """Compute the payment's records; a mapping failure parks its task (False)."""
        try:
            assignment = await self._cases.get() if payment.disputes else CaseAssignment()
            payment.records = records_of(
                self._profile,
                payment.row,
                payment.actions,
                payment.disputes,
                assignment,
                order_payments=payment.order_payments,
                links=payment.links,
                settlements=payment.settlements,
            )
            mirrored, payment.skipped_logs = self._by_level(payment.log_rows)
            records = log_records(self._profile, [log_snapshot(row) for row in mirrored])
        except (ValueError, LookupError, SalesforcePermanentError) as exc:
            error = f"cannot map payment to Salesforce records: {exc}"
            async with self._uow() as uow:
                await self._park(uow, payment.row, error, code="mapping_error", now=now)
                await uow.commit()
            outcomes.update(dict.fromkeys(payment.task_ids, Dead(error)))
            return False
        except SalesforceError as exc:  # the org could not be asked for the Case's Ids
            outcomes.update(dict.fromkeys(payment.task_ids, self._interrupted(exc, now)))
            return False
        payment.logs = [(row["id"], record) for row, record in zip(mirrored, records, strict=True)]
        return True

    def _outcome(self, payment: _Payment, report: WriteReport, now: datetime) -> Outcome:
        failed = report.first_failure(payment.id)
        if failed is not None:
            write, failure = failed
            reason = failure.describe(write.record)
            # A locked row or a record that failed transiently: this payment waits, alone.
            return Postpone(reason, whole_lane=False) if failure.transient else Dead(reason)
        essential = [
            index for index in report.indexes_of(payment.id) if report.writes[index].essential
        ]
        if all(report.attempted(index) for index in essential):
            return Done()
        return self._interrupted(report.interrupted, now)

    def _interrupted(self, error: SalesforceError | None, now: datetime) -> Outcome:
        """The call failed as a whole (limit, auth, outage): never the task's fault, so it
        never spends attempts; every Salesforce task waits with it."""
        message = error.message if error is not None else "not attempted"
        if isinstance(error, SalesforceRateLimited | SalesforceAuthError):
            return Postpone(message, until=now + self._config.pause_on_limit)
        return Postpone(message)

    async def _record(
        self, settled: Sequence[tuple[_Payment, Outcome]], report: WriteReport, now: datetime
    ) -> bool:
        """Store the batch's outcomes in one transaction; True when a synced payment left
        some of its logs unsent."""
        synced: list[str] = []
        refused: list[str] = []
        skipped: list[str] = []
        done: list[tuple[_Payment, int]] = []  # (payment, logs it carried to Salesforce)
        logs_left = False
        # Payments' rows are locked in Checkout.com id order, as webhook processing locks
        # them (a transaction that locks several payments never waits on another in a cycle).
        in_lock_order = sorted(settled, key=lambda item: str(item[0].row["checkout_payment_id"]))
        async with self._uow() as uow:
            for payment, outcome in in_lock_order:
                sent, rejected = report.log_outcomes(owner=payment.id)
                synced += sent
                if isinstance(outcome, Done):
                    refused += rejected
                # Else the logs failed on the lookup to a payment Salesforce refused or never
                # got: still pending, for the payment's next sync or the sweep (without it).
                skipped += payment.skipped_logs
                if isinstance(outcome, Done):
                    logs_left |= len(sent) + len(rejected) < len(payment.logs)
                    done.append((payment, len(sent)))
                elif isinstance(outcome, Dead):
                    failed = report.first_failure(payment.id)
                    code = failed[1].error_code if failed else "salesforce_rejected"
                    await self._park(uow, payment.row, outcome.error, code=code, now=now)
            versions = {payment.id: int(payment.row["version"]) for payment, _ in done}
            await uow.payments.mark_many_synced(versions, at=now)
            await uow.logs.mark(synced, status=SYNCED, at=now)
            await uow.logs.mark(refused, status=FAILED, at=now)
            await uow.logs.mark(skipped, status=SKIPPED, at=now)
            await uow.commit()
        for payment, logs in done:
            _log.info(
                "salesforce.payment.synced",
                checkout_payment_id=payment.row["checkout_payment_id"],
                version=int(payment.row["version"]),
                logs=logs,
            )
        return logs_left

    async def _park(
        self, uow: UnitOfWork, row: RowMapping, error: str, *, code: str, now: datetime
    ) -> None:
        """Keep the failure where people look: the payment, an integration log, the logs."""
        payment_id = str(row["id"])
        await uow.payments.mark_synced(payment_id, version=int(row["version"]), at=now, error=error)
        await add_integration_log(
            uow, sync_failure_row(row, error_code=code, message=error, now=now), now=now
        )
        _log.error(
            "salesforce.upsert.failed",
            checkout_payment_id=row["checkout_payment_id"],
            error_code=code,
            error=error,
        )

    async def resend_failed_logs(self) -> int:
        """Operator, once what Salesforce refused them for is fixed: the logs marked failed
        go out again with the next sweep. Returns how many."""
        now = self._clock()
        async with self._uow() as uow:
            count = await uow.logs.requeue_failed()
            if count:
                await sweep_logs_now(uow, now=now)
            await uow.commit()
        _log.info("salesforce.logs.requeued", count=count)
        return count

    # --- logs without a payment sync -----------------------------------------------------

    async def sync_logs(self, tasks: Sequence[Task]) -> Mapping[int, Outcome]:
        """The sweep: logs no payment sync will carry, in sObject Collections."""
        now = self._clock()
        ratio = self._config.log_throttle_ratio
        if self._writer.usage_above(ratio) and await self._writer.refresh_usage_above(ratio):
            # Only the logs wait (payment syncs go on), and waiting spends no attempts.
            held = Postpone(
                "Salesforce API usage is high: logs held", until=self._later(now), whole_lane=False
            )
            return dict.fromkeys((task.id for task in tasks), held)
        async with self._uow() as uow:
            rows = await uow.logs.pending_detached(
                limit=self._config.logs_per_sweep, sync_key_prefix=PAYMENT_SYNC_KEY_PREFIX
            )
        mirrored, skipped = self._by_level(rows)
        snapshots = [
            log_snapshot(row, link_payment=bool(row["payment_synced"]) or not self._link_logs)
            for row in mirrored
        ]
        records = log_records(self._profile, snapshots)
        writes = [
            Write(owner=row["id"], record=record, log_id=row["id"])
            for row, record in zip(mirrored, records, strict=True)
        ]
        report = await self._writer.grouped(writes)
        synced, refused = report.log_outcomes()
        async with self._uow() as uow:
            await uow.logs.mark(synced, status=SYNCED, at=now)
            await uow.logs.mark(refused, status=FAILED, at=now)
            await uow.logs.mark(skipped, status=SKIPPED, at=now)
            if report.interrupted is None:
                full = len(rows) >= self._config.logs_per_sweep
                next_run = now if full else now + self._config.log_sweep_interval
                await schedule_log_sweep(uow, now=now, run_at=next_run)
            await uow.commit()
        if refused:
            _log.error("salesforce.logs.refused", count=len(refused))
        if report.interrupted is not None:
            _log_interruption(report.interrupted, kind=SYNC_LOGS_TASK)
            outcome = self._interrupted(report.interrupted, now)
            return dict.fromkeys((task.id for task in tasks), outcome)
        return dict.fromkeys((task.id for task in tasks), Done())

    # --- helpers ------------------------------------------------------------------------

    def _by_level(self, rows: Sequence[RowMapping]) -> tuple[list[RowMapping], list[str]]:
        """Rows whose level is mirrored, and the ids of those that are not."""
        mirrored = [row for row in rows if normalise_level(row["level"]) in self._levels]
        kept = {row["id"] for row in mirrored}
        return mirrored, [row["id"] for row in rows if row["id"] not in kept]

    def _later(self, now: datetime) -> datetime:
        return now + self._config.pause_on_limit

    async def _schedule_sweep(self, *, now: datetime, later: bool) -> None:
        async with self._uow() as uow:
            await schedule_log_sweep(uow, now=now, run_at=self._later(now) if later else now)
            await uow.commit()


def _log_interruption(error: SalesforceError, *, kind: str) -> None:
    _log.warning(
        "salesforce.sync.interrupted",
        kind=kind,
        error_type=type(error).__name__,
        error_code=error.error_code,
        error=error.message,
    )
