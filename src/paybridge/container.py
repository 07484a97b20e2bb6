"""The composition root's product: everything a request or task needs, built once per app."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from paybridge.adapters.checkout.client import CheckoutClient
from paybridge.domain.clock import Clock
from paybridge.mapping.field_map import FieldMap
from paybridge.mapping.markets_file import MarketConfig
from paybridge.metrics import Metrics
from paybridge.persistence.doorbell import Doorbell
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.security import CallerAuthenticator
from paybridge.services.actions import ActionService
from paybridge.services.authorization_expiry import AuthorizationExpiryService
from paybridge.services.dispute_actions import DisputeActionService
from paybridge.services.disputes import DisputeService
from paybridge.services.idempotency import IdempotencyService
from paybridge.services.payment_links import PaymentLinkService
from paybridge.services.payments import PaymentService
from paybridge.services.reconciliation import ReconciliationService
from paybridge.services.salesforce_sync import SalesforceSyncService
from paybridge.services.settlement import SettlementService
from paybridge.services.tasks import TaskService
from paybridge.services.webhooks import WebhookService
from paybridge.settings import Settings


@dataclass(frozen=True)
class Container:
    settings: Settings
    caller_auth: CallerAuthenticator
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    doorbell: Doorbell  # rung by `uow` when due tasks are committed; the worker listens
    clock: Clock
    metrics: Metrics
    field_map: FieldMap
    checkout_http: httpx.AsyncClient
    checkout: CheckoutClient
    idempotency: IdempotencyService
    payments: PaymentService
    payment_links: PaymentLinkService
    actions: ActionService
    webhooks: WebhookService
    reconciliation: ReconciliationService
    settlement: SettlementService
    authorization_expiry: AuthorizationExpiryService
    task_services: tuple[TaskService, ...] = ()
    # Markets (None: the global settings) and per-market secret keys, for every Checkout.com
    # call about a payment of that market.
    markets: MarketConfig = field(default_factory=MarketConfig)
    # Salesforce write-back; None when PAYBRIDGE_SALESFORCE__INSTANCE_URL is not configured.
    salesforce_http: httpx.AsyncClient | None = None
    salesforce_sync: SalesforceSyncService | None = None
    # Gateway notifications to a Commerce Payments org; None without a notification URL.
    gateway_http: httpx.AsyncClient | None = None
    # Disputes: reads and webhook folding, and the actions Salesforce takes on them.
    disputes: DisputeService | None = None
    dispute_actions: DisputeActionService | None = None

    async def schedule_periodic_checks(self) -> None:
        """Make sure the periodic settlement and expiry tasks are pending (API and worker
        processes alike call this at start; pending ones coalesce)."""
        if self.settings.settlement.daily_sweep:
            await self.settlement.schedule_daily()
        await self.authorization_expiry.schedule_checks()

    async def aclose(self) -> None:
        """Close what the container opened: HTTP clients, then the database engine."""
        await self.checkout_http.aclose()
        if self.salesforce_http is not None:
            await self.salesforce_http.aclose()
        if self.gateway_http is not None:
            await self.gateway_http.aclose()
        await self.engine.dispose()
