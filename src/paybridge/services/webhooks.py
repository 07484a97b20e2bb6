"""Checkout.com webhooks: verified intake into the inbox, then order-independent processing.

Intake (request path) verifies the signature over the raw bytes, stores the delivery and
its processing task in one commit, and answers 200 — for duplicates, unknown types and
unreadable bodies too (quarantined), so Checkout.com never retries what cannot improve.
Processing (worker) locks the payment row, merges the event's facts into the ledger,
re-folds the state and enqueues the Salesforce sync, all in one transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import RowMapping

from paybridge.adapters.checkout.signatures import verify_authorization, verify_signature
from paybridge.domain.clock import Clock
from paybridge.domain.ids import new_id
from paybridge.errors import AuthenticationFailed
from paybridge.mapping.checkout_events import (
    EventEnvelope,
    UnreadableEvent,
    parse_envelope,
    to_balances,
    to_facts,
    to_seed,
)
from paybridge.mapping.payment_seeds import seed_row
from paybridge.metrics import Metrics
from paybridge.persistence.inbox import InboxWriter
from paybridge.persistence.repositories.outbox import outbox_row
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.services.audit import webhook_log_row
from paybridge.services.dispute_fold import link_waiting_disputes
from paybridge.services.gateway_notifications import notify_settled_actions
from paybridge.services.ledger import apply_facts
from paybridge.services.link_payments import settle_link_payment
from paybridge.services.tasks import (
    BatchHandler,
    Dead,
    Done,
    Outcome,
    Task,
    one_by_one,
    together_by_subject,
)

_log = structlog.get_logger(__name__)

SOURCE = "checkout"
# A transaction carries about this many events of a batch before another is opened beside
# it: a few events share one BEGIN/COMMIT even when a batch is small, and a large batch is
# still spread over `concurrency` connections.
EVENTS_PER_TRANSACTION = 6
PROCESS_TASK = "webhooks.process"
PRUNE_TASK = "maintenance.prune"


class DisputeEvents(Protocol):
    """Processes `dispute_*` events in two phases: `prepare` may call Checkout.com (no
    transaction open) and raises to have the task retried; `apply` writes inside the
    caller's transaction."""

    async def prepare(self, event: EventEnvelope) -> Any: ...

    async def apply(
        self, uow: UnitOfWork, event: EventEnvelope, prepared: Any, *, now: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    signature_keys: tuple[str, ...]
    authorization: str | None


@dataclass(frozen=True, slots=True)
class Receipt:
    status: str  # accepted | duplicate | ignored | quarantined
    event_id: str


class WebhookService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        inbox: InboxWriter,
        clock: Clock,
        metrics: Metrics,
        secrets: WebhookSecrets,
        inbox_retention: timedelta,
        disputes: DisputeEvents,
        prune_every: timedelta = timedelta(hours=1),
        concurrency: int = 8,
    ) -> None:
        self._uow = uow
        self._inbox = inbox
        self._clock = clock
        self._metrics = metrics
        self._secrets = secrets
        self._retention = inbox_retention
        self._prune_every = prune_every
        self._disputes = disputes
        self._concurrency = concurrency
        self._one_by_one = one_by_one(self._process_task)

    # --- intake ----------------------------------------------------------------------------

    def authenticate(self, raw: bytes, *, signature: str | None, authorization: str | None) -> None:
        """Constant-time checks of `Cko-Signature` (any configured key) and `Authorization`."""
        signed = bool(self._secrets.signature_keys) and verify_signature(
            raw, signature, self._secrets.signature_keys
        )
        authorized = verify_authorization(authorization, self._secrets.authorization)
        if not (signed and authorized):
            self._metrics.webhooks.labels("unauthenticated", "unknown").inc()
            _log.warning(
                "webhook.authentication.failed",
                signature_present=signature is not None,
                signature_valid=signed,
                authorization_valid=authorized,
                body_bytes=len(raw),
            )
            raise AuthenticationFailed(
                "Webhook signature or Authorization header is invalid.", code="invalid_signature"
            )

    async def receive(self, raw: bytes) -> Receipt:
        """Store a verified delivery (and its task) durably before acknowledging it."""
        now = self._clock()
        problem: str | None = None
        event_type: str | None
        subject: str | None
        try:
            event: EventEnvelope | None = parse_envelope(raw)
        except UnreadableEvent as exc:
            event = None
            problem = str(exc)
        if event is None:
            event_id = "unreadable:" + hashlib.sha256(raw).hexdigest()[:40]
            status, event_type, subject = "quarantined", None, None
        else:
            event_id, event_type, subject = event.id, event.type, event.subject_id
            known = event.is_payment_event or event.is_dispute_event
            status = "received" if known and not event.is_payout else "ignored"
            problem = _ignored_because(event) if status == "ignored" else None
        row_id = new_id()
        values = {
            "id": row_id,
            "source": SOURCE,
            "event_id": event_id,
            "type": event_type,
            "subject_id": subject,
            "raw_body": raw,
            "signature_verified": True,
            "status": status,
            "error": problem,
            "occurred_at": event.occurred_at if event else None,
            "received_at": now,
            "handled_at": now if status == "ignored" else None,
        }
        if status == "received":
            task = outbox_row(PROCESS_TASK, {"event_row_id": row_id}, now=now)
            inserted = await self._inbox.store_with_task(values, task)
        else:
            async with self._uow() as uow:
                inserted = await uow.events.insert_if_absent(values)
                await uow.commit()
        outcome = status if inserted else "duplicate"
        self._metrics.webhooks.labels(outcome, event_type or "unreadable").inc()
        log = _log.warning if status == "quarantined" else _log.debug
        log(f"webhook.{outcome}", cko_event_id=event_id, event_type=event_type, error=problem)
        return Receipt(status=outcome if outcome != "received" else "accepted", event_id=event_id)

    # --- processing ------------------------------------------------------------------------

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {
            PROCESS_TASK: self._process_batch,
            PRUNE_TASK: one_by_one(self._prune),
        }

    async def _process_task(self, task: Task) -> Outcome:
        return await self.process(str(task.payload["event_row_id"]))

    async def _process_batch(self, tasks: Sequence[Task]) -> Mapping[int, Outcome]:
        """Apply a batch of stored events: read together, then applied in up to
        `concurrency` transactions side by side (about `EVENTS_PER_TRANSACTION` events
        each), each applying the events of its own payments in the order they were stored
        (of two approved payments on one link, the first keeps it), after locking those
        payments in Checkout.com id order (the order every transaction that locks several
        takes them in). Round trips per event (BEGIN, COMMIT, the read) are what the worker
        spends its CPU on; a payment's events never run in two transactions at once.
        A transaction that fails is rolled back and its events are applied one at a time,
        so one bad event never holds up its neighbours."""
        row_ids = {task.id: str(task.payload.get("event_row_id")) for task in tasks}
        async with self._uow() as uow:
            rows = await uow.events.get_many(list(row_ids.values()))
        groups = together_by_subject(
            tasks,
            subject_of=lambda task: _subject(rows.get(row_ids[task.id])),
            groups=min(self._concurrency, math.ceil(len(tasks) / EVENTS_PER_TRANSACTION)),
        )
        outcomes: dict[int, Outcome] = {}
        for applied in await asyncio.gather(
            *(self._apply_together(group, rows, row_ids) for group in groups)
        ):
            outcomes.update(applied)
        return outcomes

    async def _apply_together(
        self, tasks: Sequence[Task], rows: Mapping[str, RowMapping], row_ids: Mapping[int, str]
    ) -> Mapping[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        disputes: list[Task] = []  # fetched from Checkout.com first: applied one at a time
        try:
            async with self._uow() as uow:
                now = self._clock()
                records = _Records()
                if len(tasks) > 1:
                    subjects = {_subject(rows.get(row_ids[task.id])) for task in tasks}
                    await uow.payments.lock_by_checkout_ids(sorted(filter(None, subjects)))
                for task in tasks:
                    row = rows.get(row_ids[task.id])
                    if row is None:
                        outcomes[task.id] = Dead(f"inbound event {row_ids[task.id]} is gone")
                        continue
                    applied = await self._apply_stored(uow, row, records, now=now)
                    if isinstance(applied, EventEnvelope):
                        disputes.append(task)
                    else:
                        outcomes[task.id] = applied
                await records.write(uow, at=now)
                await uow.commit()
        except Exception:  # noqa: BLE001 — rolled back: each event is tried alone instead
            _log.warning("webhook.batch.retried_one_by_one", events=len(tasks), exc_info=True)
            return await self._one_by_one(tasks)
        outcomes.update(await self._one_by_one(disputes))
        return outcomes

    async def process(self, event_row_id: str) -> Outcome:
        """Apply one stored event. A payment event is read and applied in one transaction;
        a dispute event first fetches the dispute (no transaction open), then applies."""
        async with self._uow() as uow:
            row = await uow.events.get(event_row_id)
            if row is None:
                return Dead(f"inbound event {event_row_id} is gone")
            now, records = self._clock(), _Records()
            applied = await self._apply_stored(uow, row, records, now=now)
            if not isinstance(applied, EventEnvelope):
                await records.write(uow, at=now)
                await uow.commit()
                return applied
            event = applied
        prepared = await self._disputes.prepare(event)  # outside any transaction
        now = self._clock()
        async with self._uow() as uow:
            await self._disputes.apply(uow, event, prepared, now=now)
            await uow.events.mark(event_row_id, status="handled", at=now)
            await uow.commit()
        return Done()

    async def _apply_stored(
        self, uow: UnitOfWork, row: RowMapping, records: _Records, *, now: datetime
    ) -> Outcome | EventEnvelope:
        """Apply a stored payment event inside the caller's transaction; the caller writes
        `records` and commits. A dispute event is returned instead: its dispute is fetched
        before it is applied."""
        if row["handled_at"] is not None:
            return Done()
        try:
            event = parse_envelope(bytes(row["raw_body"]))
        except UnreadableEvent as exc:
            records.marks.append((row["id"], "quarantined", str(exc)))
            return Done()
        if event.is_dispute_event:
            return event
        ignored = await self._apply_payment_event(uow, event, records, now=now)
        records.marks.append((row["id"], "handled" if ignored is None else "ignored", ignored))
        return Done()

    async def _apply_payment_event(
        self, uow: UnitOfWork, event: EventEnvelope, records: _Records, *, now: datetime
    ) -> str | None:
        """Apply the event; the reason when it is not about an Order's payment at all."""
        if event.is_payout:  # stored before paybridge told payouts apart: still not an Order's
            _log.info("webhook.payout.ignored", cko_event_id=event.id, event_type=event.type)
            return _ignored_because(event)
        locked = await self._lock_or_create(uow, event, now=now)
        if locked is None:
            records.logs.append(self._log_row(event, None, now=now, error="payment_unidentified"))
            _log.warning("webhook.payment.unidentified", cko_event_id=event.id)
            return None
        payment, created = locked
        facts = to_facts(event)
        last = payment["last_event_at"]
        newer = event.occurred_at is not None and (last is None or event.occurred_at > last)
        extra: dict[str, Any] = {"last_event_at": event.occurred_at} if newer else {}
        state = await apply_facts(
            uow,
            payment,
            facts,
            now=now,
            extra=extra,
            balances=to_balances(event),
            actions=() if created else None,  # a payment created just now has no ledger yet
        )
        await settle_link_payment(uow, payment, state.status, now=now)
        await notify_settled_actions(uow, facts, now=now)
        records.logs.append(self._log_row(event, payment, now=now))
        _log.info(
            "webhook.applied",
            cko_event_id=event.id,
            event_type=event.type,
            checkout_payment_id=payment["checkout_payment_id"],
            status=state.status.value,
        )
        return None

    async def _lock_or_create(
        self, uow: UnitOfWork, event: EventEnvelope, *, now: datetime
    ) -> tuple[RowMapping, bool] | None:
        """The event's payment, locked, and whether this transaction created it."""
        pid = event.subject_id
        if pid is None:
            return None
        payment = await uow.payments.get_by_checkout_id(pid, for_update=True)
        if payment is not None:
            return payment, False
        seed = to_seed(event)
        if seed is None:
            return None
        created = await uow.payments.insert_if_absent(seed_row(seed, now=now))
        if created is None:  # another worker created it meanwhile
            theirs = await uow.payments.get_by_checkout_id(pid, for_update=True)
            return None if theirs is None else (theirs, False)
        _log.info("webhook.payment.created_from_event", checkout_payment_id=pid)
        if await link_waiting_disputes(uow, created, now=now):
            adopted = await uow.payments.get_by_checkout_id(pid, for_update=True)
            return None if adopted is None else (adopted, True)
        return created, True

    @staticmethod
    def _log_row(
        event: EventEnvelope, payment: RowMapping | None, *, now: datetime, error: str | None = None
    ) -> dict[str, Any]:
        action_id = event.data.get("action_id")
        return webhook_log_row(
            event_id=event.id,
            event_type=event.type,
            occurred_at=event.occurred_at or now,
            payment_id=payment["id"] if payment else None,
            checkout_payment_id=event.subject_id,
            action_id=action_id if isinstance(action_id, str) else None,
            error_code=error,
        )

    # --- operators ---------------------------------------------------------------------------

    async def replay(self, event_id: str) -> Outcome:
        """Process one stored event again (idempotent: facts already known change nothing)."""
        async with self._uow() as uow:
            row = await uow.events.get_by_event_id(event_id, source=SOURCE)
            if row is None:
                raise LookupError(f"no stored event {event_id}")
            await uow.events.reopen(row["id"])
            await uow.commit()
        return await self.process(str(row["id"]))

    async def retry_dead(self) -> int:
        async with self._uow() as uow:
            count = await uow.outbox.retry_dead(now=self._clock())
            await uow.commit()
        return count

    async def schedule_pruning(self) -> None:
        """Make sure one pruning task is pending (coalesces across processes)."""
        async with self._uow() as uow:
            await uow.outbox.enqueue(PRUNE_TASK, {}, now=self._clock(), dedupe_key=PRUNE_TASK)
            await uow.commit()

    async def _prune(self, _task: Task) -> Outcome:
        now = self._clock()
        async with self._uow() as uow:
            events = await uow.events.prune(received_before=now - self._retention)
            keys = await uow.idempotency.delete_expired(now=now)
            await uow.outbox.enqueue(
                PRUNE_TASK, {}, now=now, dedupe_key=PRUNE_TASK, run_at=now + self._prune_every
            )
            await uow.commit()
        _log.info("maintenance.pruned", inbound_events=events, idempotency_keys=keys)
        return Done()


@dataclass
class _Records:
    """What the events a transaction applies leave behind, written together just before it
    commits (one round trip each, not one per event): the inbox rows' marks
    ((row id, status, error) each) and the webhook integration logs."""

    marks: list[tuple[str, str, str | None]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)

    async def write(self, uow: UnitOfWork, *, at: datetime) -> None:
        await uow.logs.add_many(self.logs)
        await uow.events.mark_many(self.marks, at=at)


def _subject(row: RowMapping | None) -> str | None:
    return None if row is None else row["subject_id"]


def _ignored_because(event: EventEnvelope) -> str:
    if event.is_payout:
        return "payout (data.destination): not a payment of an Order"
    return "event type not handled by paybridge"
