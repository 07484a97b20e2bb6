"""Idempotency of our own API: claim a key, replay a finished one, refuse a busy one.

A record is claimed in its own short transaction before Checkout.com is called, and
finished in the transaction that records the result, so a crash in between leaves an
unfinished, unlocked-after-timeout record that the caller's retry resumes with the same
derived `Cko-Idempotency-Key` — Checkout.com then replays instead of charging twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from paybridge.domain.clock import Clock
from paybridge.domain.ids import checkout_idempotency_key, new_id
from paybridge.domain.money import MoneyError, parse_decimal
from paybridge.errors import Conflict, ValidationFailed
from paybridge.persistence.repositories.outbox import outbox_row
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory

# Checkout.com replays a 2xx for the same Cko-Idempotency-Key for 24 h; a request finished
# later than this is never re-sent (it could act twice).
CHECKOUT_KEY_WINDOW = timedelta(hours=23)


@dataclass(frozen=True, slots=True)
class Claim:
    """This request now owns the key; `checkout_key` goes to Checkout.com on every attempt."""

    record_id: str
    operation: str
    resumed: bool
    payload: dict[str, Any] | None = None

    @property
    def checkout_key(self) -> str:
        return checkout_idempotency_key(self.record_id, self.operation)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A finished request: replay exactly this."""

    status_code: int
    body: dict[str, Any]


# Salesforce system fields that change whenever anyone touches the record; Apex re-serializing
# the same Order for a retry may carry new values, which must not look like another request.
VOLATILE_FIELDS = frozenset(
    {
        "SystemModstamp",
        "LastModifiedDate",
        "LastModifiedById",
        "LastViewedDate",
        "LastReferencedDate",
    }
)


def _money(value: Any) -> Any:
    """An amount as money: `50`, `50.0` and `"50.00"` all read `"50"`."""
    try:
        return format(parse_decimal(value).normalize(), "f")
    except MoneyError:
        return value  # not an amount at all: the validation that follows refuses it


def _canonical(value: Any, money: frozenset[str] = frozenset(), path: str = "") -> Any:
    if isinstance(value, bool):
        return value
    if path in money or isinstance(value, int | Decimal):
        return _money(value)
    if isinstance(value, dict):
        return {
            str(k): _canonical(v, money, f"{path}.{k}" if path else str(k))
            for k, v in value.items()
            if k not in VOLATILE_FIELDS and not (k == "url" and path.endswith("attributes"))
        }
    if isinstance(value, list | tuple):
        return [_canonical(v, money, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def fingerprint(operation: str, body: Any, *, money: Iterable[str] = ()) -> str:
    """Stable hash of what was asked: same key + different body is detected by this.

    Numbers, and the strings at the dotted `money` paths, are compared as money, so `50`,
    `50.0` and `"50.00"` are the same amount; Salesforce's volatile system fields are left
    out, so a re-serialized record is the same request.
    """
    canonical = json.dumps(
        {"operation": operation, "body": _canonical(body, frozenset(money))},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        clock: Clock,
        lock_timeout: timedelta,
        retention: timedelta,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._retention = retention

    async def begin(
        self,
        *,
        key: str,
        operation: str,
        request_fingerprint: str,
        record_id: str | None = None,
        payload: dict[str, Any] | None = None,
        recovery_task: str | None = None,
    ) -> Claim | StoredResponse:
        """Phase 1: own the key, or learn that it was answered (replay) or is busy (409).

        With `recovery_task`, a task that finishes the request is queued in the same commit
        as the claim: should this process die mid-call and the caller never retry, the
        worker still completes it from `payload` (or finds the stored answer and stops).
        A resumed claim carries the payload stored by the first attempt."""
        now = self._clock()
        record_id = record_id or new_id()
        record = {
            "id": record_id,
            "key": key,
            "operation": operation,
            "fingerprint": request_fingerprint,
            "request_payload": payload,
            "recovery_point": "started",
            "locked_at": now,
            "response_status": None,
            "response_body": None,
            "payment_id": None,
            "created_at": now,
            "updated_at": now,
            "expires_at": now + self._retention,
        }
        async with self._uow() as uow:
            if recovery_task is None:
                claimed = await uow.idempotency.insert_if_absent(record)
            else:
                recovery = self.recovery_task_row(recovery_task, record_id, now=now)
                claimed = await uow.idempotency.insert_with_task(record, recovery)
            if claimed:
                await uow.commit()
                return Claim(record_id, operation, resumed=False, payload=payload)
            row = await uow.idempotency.get_by_key(key)
            if row is None:  # deleted by retention between the two statements
                raise Conflict(
                    "Idempotency key is being recycled; retry.", code="idempotency_key_in_flight"
                )
            if row["operation"] != operation or row["fingerprint"] != request_fingerprint:
                raise ValidationFailed(
                    "This Idempotency-Key was used with a different request.",
                    code="idempotency_key_reused",
                )
            if row["response_status"] is not None:
                return StoredResponse(int(row["response_status"]), dict(row["response_body"]))
            took_over = await uow.idempotency.take_over_lock(
                row["id"], stale_before=now - self._lock_timeout, now=now
            )
            if not took_over:
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed.",
                    code="idempotency_key_in_flight",
                )
            await uow.commit()
            return Claim(str(row["id"]), operation, resumed=True, payload=row["request_payload"])

    async def schedule_recovery(
        self, uow: UnitOfWork, task: str, record_id: str, *, now: datetime
    ) -> None:
        """Queue `task` for after the lock lapses: the caller's own retry comes first."""
        row = self.recovery_task_row(task, record_id, now=now)
        await uow.outbox.enqueue(
            task,
            row["payload"],
            now=now,
            dedupe_key=row["dedupe_key"],
            run_at=row["next_attempt_at"],
        )

    def recovery_task_row(self, task: str, record_id: str, *, now: datetime) -> dict[str, Any]:
        """The outbox row of `task` for `record_id`, due once the lock has lapsed."""
        row = outbox_row(
            task, {"idempotency_record_id": record_id}, now=now, dedupe_key=f"recover:{record_id}"
        )
        row["next_attempt_at"] = now + self._lock_timeout + timedelta(seconds=5)
        return row

    async def resume(self, record_id: str) -> Claim | StoredResponse | None:
        """For the worker: own an unfinished record whose holder is gone. None while someone
        still holds it (or it vanished); a StoredResponse when it was finished meanwhile."""
        now = self._clock()
        async with self._uow() as uow:
            row = await uow.idempotency.get(record_id)
            if row is None:
                return None
            if row["response_status"] is not None:
                return StoredResponse(int(row["response_status"]), dict(row["response_body"]))
            took_over = await uow.idempotency.take_over_lock(
                record_id, stale_before=now - self._lock_timeout, now=now
            )
            await uow.commit()
        if not took_over:
            return None
        return Claim(record_id, str(row["operation"]), resumed=True, payload=row["request_payload"])

    @property
    def lock_timeout(self) -> timedelta:
        return self._lock_timeout

    async def release(self, claim: Claim) -> None:
        """Give the key back unfinished (upstream unavailable): the caller's retry resumes it."""
        async with self._uow() as uow:
            await uow.idempotency.release(claim.record_id, now=self._clock())
            await uow.commit()

    async def finish(
        self,
        uow: UnitOfWork,
        claim: Claim,
        response: StoredResponse,
        *,
        payment_id: str | None = None,
    ) -> None:
        """Phase 3, inside the caller's transaction: the stored answer commits with the effect."""
        await uow.idempotency.finish(
            claim.record_id,
            status=response.status_code,
            body=response.body,
            payment_id=payment_id,
            now=self._clock(),
        )

    async def finish_alone(self, claim: Claim, response: StoredResponse) -> None:
        """Store a final refusal (e.g. Checkout.com's 422) that has no other effect."""
        async with self._uow() as uow:
            await self.finish(uow, claim, response)
            await uow.commit()
