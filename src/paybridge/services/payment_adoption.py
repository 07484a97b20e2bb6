"""Adopt a payment paybridge never saw, before acting on it (DESIGN §5 `commerce`).

In Order Management the authorization is usually the storefront's, made without paybridge, and
its `pay_…` id reaches paybridge first as the gateway adapter's capture, refund or void. Rather
than 404, paybridge asks Checkout.com (`GET /payments/{id}` and its actions, no transaction
open), records the payment and folds the actions exactly as webhooks would, then lets the
action go ahead. An unknown id stays unknown (404); an outage is the caller's 502/503, so the
platform retries with the same key.
"""

from __future__ import annotations

import structlog

from paybridge.adapters.checkout.client import CheckoutCallRecord, CheckoutClient
from paybridge.adapters.checkout.errors import CheckoutError, CheckoutNotFound
from paybridge.domain.clock import Clock
from paybridge.domain.facts import ActionFact
from paybridge.domain.status import ActionType
from paybridge.mapping.checkout_reconciliation import facts_from_actions, facts_from_status
from paybridge.mapping.payment_seeds import seed_from_details, seed_row
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.audit import collecting, log_row
from paybridge.services.ledger import apply_facts
from paybridge.services.salesforce_logs import add_integration_log

_log = structlog.get_logger(__name__)

OPERATION = "payment.adopt"


class PaymentAdoption:
    def __init__(self, *, uow: UnitOfWorkFactory, checkout: CheckoutClient, clock: Clock) -> None:
        self._uow = uow
        self._checkout = checkout
        self._clock = clock

    async def adopt(self, checkout_payment_id: str) -> bool:
        """True when the payment is known afterwards (adopted now, or by someone else
        meanwhile); False when Checkout.com does not know it either."""
        if not checkout_payment_id.startswith("pay_"):
            return False
        with collecting() as calls:
            try:
                details = await self._checkout.get_payment(checkout_payment_id)
                actions = await self._checkout.get_payment_actions(checkout_payment_id)
            except CheckoutNotFound:
                return False
            except CheckoutError as error:
                await self._log_failure(calls, checkout_payment_id, error)
                raise
        seed = seed_from_details(details)
        if seed is None:
            return False
        facts: list[ActionFact] = facts_from_actions(actions)
        if not any(fact.type is ActionType.AUTHORIZATION for fact in facts):
            facts += facts_from_status(details)
        now = self._clock()
        async with self._uow() as uow:
            await uow.payments.insert_if_absent(seed_row(seed, now=now))
            payment = await uow.payments.get_by_checkout_id(checkout_payment_id, for_update=True)
            assert payment is not None
            state = await apply_facts(uow, payment, facts, now=now)
            await uow.logs.add(
                log_row(
                    calls,
                    operation=OPERATION,
                    now=now,
                    correlation_id=None,
                    payment_id=str(payment["id"]),
                    checkout_payment_id=checkout_payment_id,
                    summary={"facts": len(facts)},
                )
            )
            await uow.commit()
        _log.info(
            "payment.adopted",
            checkout_payment_id=checkout_payment_id,
            facts=len(facts),
            status=state.status.value,
        )
        return True

    async def _log_failure(
        self, calls: list[CheckoutCallRecord], checkout_payment_id: str, error: CheckoutError
    ) -> None:
        now = self._clock()
        row = log_row(
            calls,
            operation=OPERATION,
            now=now,
            correlation_id=None,
            checkout_payment_id=checkout_payment_id,
            error_code=error.code,
            message=error.message,
        )
        async with self._uow() as uow:
            await add_integration_log(uow, row, now=now)
            await uow.commit()
