"""The composition root's product: everything a request or task needs, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from paybridge.adapters.checkout.client import CheckoutClient
from paybridge.domain.clock import Clock
from paybridge.mapping.field_map import FieldMap
from paybridge.metrics import Metrics
from paybridge.persistence.uow import UnitOfWorkFactory
from paybridge.services.actions import ActionService
from paybridge.services.idempotency import IdempotencyService
from paybridge.services.payments import PaymentService
from paybridge.settings import Settings


@dataclass(frozen=True)
class Container:
    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    clock: Clock
    metrics: Metrics
    field_map: FieldMap
    checkout_http: httpx.AsyncClient
    checkout: CheckoutClient
    idempotency: IdempotencyService
    payments: PaymentService
    actions: ActionService
