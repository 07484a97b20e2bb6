"""`create_app(settings)`: the one place objects are wired (the composition root)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import structlog
from fastapi import FastAPI

from paybridge import __version__
from paybridge.adapters.checkout.client import CheckoutClient
from paybridge.adapters.http import RetryPolicy, build_http_client
from paybridge.api import actions, health, payments
from paybridge.api.errors import install_error_handlers
from paybridge.api.middleware import RequestContextMiddleware
from paybridge.api.openapi import install_openapi
from paybridge.container import Container
from paybridge.domain.clock import Clock, utc_now
from paybridge.logging import configure_logging
from paybridge.mapping.field_map import load_field_map
from paybridge.metrics import Metrics
from paybridge.persistence.engine import create_engine
from paybridge.persistence.uow import unit_of_work_factory
from paybridge.schemas.actions import CaptureCreate, RefundCreate, VoidCreate
from paybridge.schemas.payments import PaymentCreate
from paybridge.services.actions import ActionService
from paybridge.services.audit import CheckoutCallRecorder
from paybridge.services.idempotency import IdempotencyService
from paybridge.services.payments import PaymentDefaults, PaymentService
from paybridge.settings import Settings

_log = structlog.get_logger(__name__)

BODY_MODELS = (PaymentCreate, CaptureCreate, VoidCreate, RefundCreate)


def build_container(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    checkout_transport: httpx.AsyncBaseTransport | None = None,
    checkout_retry: RetryPolicy | None = None,
) -> Container:
    """Everything the app needs; tests pass their own transport, clock or retry policy."""
    metrics = Metrics()
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database.pool_size,
        pool_timeout_s=settings.database.pool_timeout_s,
    )
    uow = unit_of_work_factory(engine)
    cko = settings.checkout
    checkout_http = build_http_client(
        base_url=cko.base_url,
        connect_timeout_s=cko.connect_timeout_s,
        read_timeout_s=cko.read_timeout_s,
        transport=checkout_transport,
    )
    checkout = CheckoutClient(
        checkout_http,
        secret_key=cko.secret_key.get_secret_value(),
        retry_policy=checkout_retry
        or RetryPolicy(max_attempts=cko.max_attempts, budget_s=cko.retry_budget_s),
        on_call=CheckoutCallRecorder(metrics),
    )
    idempotency = IdempotencyService(
        uow,
        clock=clock,
        lock_timeout=timedelta(seconds=settings.idempotency.lock_timeout_s),
        retention=timedelta(days=settings.idempotency.retention_days),
    )
    field_map = load_field_map(settings.field_map_file)
    return Container(
        settings=settings,
        engine=engine,
        uow=uow,
        clock=clock,
        metrics=metrics,
        field_map=field_map,
        checkout_http=checkout_http,
        checkout=checkout,
        idempotency=idempotency,
        payments=PaymentService(
            uow=uow,
            checkout=checkout,
            idempotency=idempotency,
            clock=clock,
            field_map=field_map,
            defaults=PaymentDefaults(processing_channel_id=cko.processing_channel_id),
        ),
        actions=ActionService(uow=uow, checkout=checkout, idempotency=idempotency, clock=clock),
    )


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else Settings())
    configure_logging(settings.log_level)
    built = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.api_keys:
            _log.warning(
                "api.keys.missing",
                message="PAYBRIDGE_API_KEYS is empty: every /v1 call will be refused with 401",
            )
        app.state.container = built
        try:
            yield
        finally:
            await built.checkout_http.aclose()
            await built.engine.dispose()

    app = FastAPI(
        title="paybridge",
        version=__version__,
        description="Salesforce ⇄ Checkout.com payments: create, capture, void, refund, "
        "webhooks and disputes, with Salesforce kept in sync.",
        lifespan=lifespan,
    )
    app.state.container = built
    install_error_handlers(app)
    install_openapi(app, BODY_MODELS)
    app.add_middleware(RequestContextMiddleware, metrics=built.metrics)
    app.include_router(health.router)
    app.include_router(payments.router)
    app.include_router(actions.router)
    return app
