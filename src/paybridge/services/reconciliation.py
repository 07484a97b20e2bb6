"""`payments.reconcile`: ask Checkout.com about a payment whose outcome is overdue.

The ledger schedules this task whenever a payment waits for an outcome (still Pending, or a
capture, void or refund still Requested or Pending): normally the webhook arrives first and
the task finds nothing to ask. Otherwise `GET /payments/{id}/actions` (and, for a payment
with no action yet, `GET /payments/{id}`) is merged into the ledger exactly as webhooks are,
so Salesforce is right even when a webhook never comes. Every call is an integration log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from pydantic import SecretStr
from sqlalchemy import RowMapping

from paybridge.adapters.checkout.client import CheckoutCallRecord, CheckoutClient
from paybridge.adapters.checkout.errors import CheckoutError, CheckoutNotFound
from paybridge.domain.clock import Clock
from paybridge.domain.facts import ActionFact
from paybridge.domain.reconciliation import GIVE_UP_AFTER, given_up
from paybridge.domain.status import ActionType, PaymentStatus
from paybridge.mapping.checkout_reconciliation import facts_from_actions, facts_from_status
from paybridge.mapping.markets_file import market_secret_key
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.audit import collecting, log_row
from paybridge.services.ledger import RECONCILE_TASK, apply_facts, awaiting_since_of
from paybridge.services.outages import is_outage
from paybridge.services.salesforce_logs import add_integration_log
from paybridge.services.tasks import BatchHandler, Dead, Done, Outcome, Postpone, Task, one_by_one

# The integration log of a payment given up on; the backlog metrics count these.
GAVE_UP_ERROR_CODE = "outcome_unknown"
_log = structlog.get_logger(__name__)

OPERATION = "payment.reconcile"


class ReconciliationService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        checkout: CheckoutClient,
        clock: Clock,
        market_secret_keys: Mapping[str, SecretStr],
    ) -> None:
        self._uow = uow
        self._checkout = checkout
        self._clock = clock
        self._market_secret_keys = market_secret_keys

    def task_handlers(self) -> dict[str, BatchHandler]:
        return {RECONCILE_TASK: one_by_one(self._reconcile_task)}

    async def _reconcile_task(self, task: Task) -> Outcome:
        payment_id = task.payload.get("payment_id")
        if not isinstance(payment_id, str):
            return Dead("malformed reconcile task: no payment_id in its payload")
        return await self.reconcile(payment_id)

    async def reconcile_now(self, payment_ref: str) -> tuple[str, Outcome, str]:
        """Operator: ask at once about a payment (paybridge's id or the `pay_…` id), overdue
        or not; returns its `pay_…` id, the outcome and its status afterwards."""
        async with self._uow() as uow:
            row = await uow.payments.get_by_checkout_id(payment_ref)
            row = row or await uow.payments.get(payment_ref)
        if row is None:
            raise LookupError(f"no payment {payment_ref}")
        outcome = await self.reconcile(str(row["id"]), force=True)
        async with self._uow() as uow:
            after = await uow.payments.get(str(row["id"]))
        assert after is not None
        return str(row["checkout_payment_id"]), outcome, str(after["status"])

    async def reconcile(self, payment_id: str, *, force: bool = False) -> Outcome:
        """Ask Checkout.com when an outcome is overdue (`force`: whatever the state) and
        merge its answer; Postpone when Checkout.com cannot answer now."""
        async with self._uow() as uow:
            payment = await uow.payments.get(payment_id)
            actions = await uow.payments.list_actions(payment_id) if payment else []
        if payment is None:
            return Dead(f"no payment {payment_id}")
        now = self._clock()
        since = awaiting_since_of(payment, actions)
        if since is None and not force:
            return Done()  # the webhooks came: nothing to ask
        if since is not None and given_up(now, since) and not force:
            await self._give_up(payment, now=now)
            return Done()
        checkout_id = str(payment["checkout_payment_id"])
        with collecting() as calls:
            try:
                facts = await self._ask(checkout_id, payment)
            except CheckoutError as error:
                await self._log_call(calls, payment, now=now, error=error)
                if isinstance(error, CheckoutNotFound):
                    _log.warning("payment.reconcile.unknown", checkout_payment_id=checkout_id)
                    return Done()
                if is_outage(error):  # Checkout.com away: ask again later, attempts kept
                    return Postpone(error.message, whole_lane=error.is_transient)
                return Dead(error.message)
        async with self._uow() as uow:
            locked = await uow.payments.get_by_checkout_id(checkout_id, for_update=True)
            assert locked is not None
            state = await apply_facts(uow, locked, facts, now=now)
            await add_integration_log(
                uow,
                self._call_row(calls, locked, now=now, summary={"facts": len(facts)}),
                now=now,
            )
            await uow.commit()
        _log.info(
            "payment.reconciled",
            checkout_payment_id=checkout_id,
            facts=len(facts),
            status_before=payment["status"],
            status=state.status.value,
        )
        return Done()

    async def _ask(self, checkout_id: str, payment: RowMapping) -> list[ActionFact]:
        secret_key = market_secret_key(self._market_secret_keys, payment["market"])
        actions = await self._checkout.get_payment_actions(checkout_id, secret_key=secret_key)
        facts = facts_from_actions(actions)
        decided = any(fact.type is ActionType.AUTHORIZATION for fact in facts)
        if payment["status"] == PaymentStatus.PENDING.value and not decided:
            details = await self._checkout.get_payment(checkout_id, secret_key=secret_key)
            facts += facts_from_status(details)
        return facts

    async def _give_up(self, payment: RowMapping, *, now: datetime) -> None:
        message = (
            f"no outcome from Checkout.com for over {GIVE_UP_AFTER.days} days: check the "
            "payment in the Checkout.com dashboard"
        )
        _log.error(
            "payment.reconcile.gave_up",
            checkout_payment_id=payment["checkout_payment_id"],
            status=payment["status"],
        )
        async with self._uow() as uow:
            row = self._call_row([], payment, now=now, error_code=GAVE_UP_ERROR_CODE)
            await add_integration_log(uow, {**row, "message": message}, now=now)
            await uow.commit()

    async def _log_call(
        self,
        calls: list[CheckoutCallRecord],
        payment: RowMapping,
        *,
        now: datetime,
        error: CheckoutError,
    ) -> None:
        async with self._uow() as uow:
            row = self._call_row(calls, payment, now=now, error_code=error.code)
            await add_integration_log(uow, {**row, "message": error.message}, now=now)
            await uow.commit()

    @staticmethod
    def _call_row(
        calls: list[CheckoutCallRecord],
        payment: RowMapping,
        *,
        now: datetime,
        error_code: str | None = None,
        summary: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return log_row(
            calls,
            operation=OPERATION,
            now=now,
            correlation_id=None,
            payment_id=payment["id"],
            checkout_payment_id=payment["checkout_payment_id"],
            error_code=error_code,
            summary=summary,
        )
