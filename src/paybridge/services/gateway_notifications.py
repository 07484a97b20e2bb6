"""Gateway notifications: Checkout.com settled an action the org's payment gateway adapter asked
for (DESIGN §5 `commerce`), so the org is told, signed, exactly once per action.

The adapter marks its requests (`Paybridge-Origin: salesforce-payment-gateway`); the action
service remembers them (`gateway_requests`). When a capture, refund or void of such a request
is Succeeded or Declined — by webhook, or already when the request's answer is recorded — one
task per action id is queued; the task POSTs the notification (no transaction open) and records
the org's answer. An org away postpones the task without spending attempts (principle 8); 409
(the pending Payment or Refund not committed yet) is retried; any other refusal parks the task
and leaves an ERROR integration log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy import RowMapping

from paybridge.adapters.salesforce.gateway_client import NotificationAnswer
from paybridge.domain.clock import Clock
from paybridge.domain.facts import ActionFact, is_placeholder_action_key
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.mapping.gateway_notifications import GatewayNotice, notification_body
from paybridge.persistence.uow import UnitOfWork, UnitOfWorkFactory
from paybridge.services.audit import log_row
from paybridge.services.outages import is_outage
from paybridge.services.tasks import (
    BatchHandler,
    Dead,
    Done,
    Outcome,
    Postpone,
    Retry,
    Task,
    one_by_one,
)

_log = structlog.get_logger(__name__)

NOTIFY_TASK = "gateway.notify"
ORIGIN_HEADER = "Paybridge-Origin"
GATEWAY_ORIGIN = "salesforce-payment-gateway"
_NOTIFIED_TYPES = frozenset({ActionType.CAPTURE, ActionType.REFUND, ActionType.VOID})
_SETTLED = frozenset({ActionStatus.SUCCEEDED, ActionStatus.DECLINED})
NOT_YET = 409  # the adapter's answer while the platform cannot match the notification
_REVERSAL_DECLINED = (
    "Checkout.com declined the void Order Management reported as a successful authorization "
    "reversal: the authorization is still open; reverse or capture it again."
)


class NotificationSender(Protocol):
    async def send(self, body: bytes) -> NotificationAnswer: ...


async def remember_gateway_request(
    uow: UnitOfWork, *, idempotency_key_id: str, checkout_payment_id: str, kind: str, now: datetime
) -> None:
    """Inside the request's reservation transaction: this action came from the adapter."""
    await uow.gateway_requests.add(
        {
            "idempotency_key_id": idempotency_key_id,
            "checkout_payment_id": checkout_payment_id,
            "kind": kind,
            "created_at": now,
        }
    )


async def notify_when_settled(uow: UnitOfWork, action: RowMapping, *, now: datetime) -> bool:
    """Queue the notification of a settled adapter action (inside the caller's transaction);
    True when queued. Anything else — another kind, still Requested, not from the adapter,
    already notified — is left alone, so calling it for every changed action is safe."""
    key_id = action["idempotency_key_id"]
    action_id = str(action["checkout_action_id"])
    if (
        key_id is None
        or action["type"] not in _NOTIFIED_TYPES
        or action["status"] not in _SETTLED
        or is_placeholder_action_key(action_id)
    ):
        return False
    request = await uow.gateway_requests.get(str(key_id))
    if request is None or request["notified_at"] is not None:
        return False
    await uow.outbox.enqueue(
        NOTIFY_TASK,
        {"idempotency_key_id": str(key_id), "action_id": action_id},
        now=now,
        dedupe_key=f"{NOTIFY_TASK}:{action_id}",
    )
    return True


async def notify_settled_actions(
    uow: UnitOfWork, facts: Sequence[ActionFact], *, now: datetime
) -> None:
    """`notify_when_settled` for the settled captures, refunds and voids a webhook brought
    (the other facts cost no query)."""
    for fact in facts:
        if fact.type in _NOTIFIED_TYPES and fact.status in _SETTLED:
            action = await uow.payments.get_action(fact.action_key)
            if action is not None:
                await notify_when_settled(uow, action, now=now)


@dataclass(frozen=True, slots=True)
class _Prepared:
    notice: GatewayNotice
    payment_row_id: str


class GatewayNotificationService:
    def __init__(self, *, uow: UnitOfWorkFactory, sender: NotificationSender, clock: Clock) -> None:
        self._uow = uow
        self._sender = sender
        self._clock = clock

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {NOTIFY_TASK: one_by_one(self._notify_task)}

    async def _notify_task(self, task: Task) -> Outcome:
        return await self.notify(
            str(task.payload["idempotency_key_id"]), str(task.payload["action_id"])
        )

    async def notify(self, idempotency_key_id: str, action_id: str) -> Outcome:
        prepared = await self._prepare(idempotency_key_id, action_id)
        if isinstance(prepared, Done | Dead):
            return prepared
        body = notification_body(prepared.notice)
        try:
            answer = await self._sender.send(body)  # no transaction open
        except Exception as exc:
            if is_outage(exc):
                return Postpone(f"{type(exc).__name__}: {exc}"[:2000])
            raise
        outcome = _outcome_of(answer)
        await self._record(idempotency_key_id, prepared, answer, outcome)
        return outcome

    async def _prepare(self, idempotency_key_id: str, action_id: str) -> _Prepared | Done | Dead:
        async with self._uow() as uow:
            request = await uow.gateway_requests.get(idempotency_key_id)
            if request is None:
                return Dead(f"no gateway request {idempotency_key_id}")
            if request["notified_at"] is not None:
                return Done()  # a twin task or a replayed webhook: the org has it already
            action = await uow.payments.get_action(action_id)
            payment = None if action is None else await uow.payments.get(action["payment_id"])
        if action is None or payment is None:
            return Dead(f"action {action_id} is gone")
        notice = GatewayNotice(
            kind=str(action["type"]),
            status=str(action["status"]),
            checkout_payment_id=str(payment["checkout_payment_id"]),
            checkout_action_id=action_id,
            currency=str(payment["currency"]),
            amount_minor=action["amount_minor"],
            response_code=action["response_code"],
            response_summary=action["response_summary"],
            processed_at=action["processed_at"],
        )
        return _Prepared(notice, str(payment["id"]))

    async def _record(
        self,
        idempotency_key_id: str,
        prepared: _Prepared,
        answer: NotificationAnswer,
        outcome: Outcome,
    ) -> None:
        now = self._clock()
        notice = prepared.notice
        refused = isinstance(outcome, Dead)
        error_code, message = None, None
        if refused:
            error_code, message = f"notification_refused_{answer.status_code}", answer.body[:500]
        elif notice.kind == "void" and notice.status == "Declined":
            # The platform took the reversal as done (it has no pending reversal to fail).
            error_code, message = "reversal_declined", _REVERSAL_DECLINED
        row = log_row(
            [],
            operation=f"gateway.notify_{notice.kind}",
            now=now,
            correlation_id=None,
            payment_id=prepared.payment_row_id,
            checkout_payment_id=notice.checkout_payment_id,
            action_id=notice.checkout_action_id,
            error_code=error_code,
            message=message,
            summary={"status": notice.status},
        )
        row.update(http_status=answer.status_code, duration_ms=answer.duration_ms)
        async with self._uow() as uow:
            if isinstance(outcome, Done):
                await uow.gateway_requests.mark_notified(
                    idempotency_key_id,
                    action_id=notice.checkout_action_id,
                    status=answer.status_code,
                    at=now,
                )
            if not isinstance(outcome, Retry):  # a 409 is logged once it is settled
                await uow.logs.add(row)
            await uow.commit()
        log = _log.error if refused else _log.info
        log(
            "gateway.notification",
            checkout_action_id=notice.checkout_action_id,
            status=answer.status_code,
            kind=notice.kind,
        )


def _outcome_of(answer: NotificationAnswer) -> Outcome:
    if 200 <= answer.status_code < 300:
        return Done()
    if answer.status_code == NOT_YET:
        return Retry(f"the org cannot record the notification yet: {answer.body[:200]}")
    return Dead(f"the org refused the notification: {answer.status_code} {answer.body[:200]}")
