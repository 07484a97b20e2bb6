"""`create_app(settings)`: the one place objects are wired (the composition root)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TypeVar

import httpx
import structlog
from fastapi import FastAPI

from paybridge import __version__
from paybridge.adapters.checkout.client import CheckoutClient, OnCall
from paybridge.adapters.http import RetryPolicy, build_http_client
from paybridge.adapters.salesforce.auth import (
    ClientCredentialsFlow,
    JwtBearerFlow,
    TokenFlow,
    TokenProvider,
)
from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.gateway_client import GatewayNotificationClient
from paybridge.api import actions, disputes, health, payment_links, payments, webhooks
from paybridge.api.errors import install_error_handlers
from paybridge.api.middleware import RequestContextMiddleware
from paybridge.api.openapi import install_openapi
from paybridge.container import Container
from paybridge.domain.clock import Clock, utc_now
from paybridge.domain.redaction import TextRedactor
from paybridge.logging import configure_logging
from paybridge.mapping.field_map import load_field_map
from paybridge.mapping.markets_file import load_market_config
from paybridge.mapping.salesforce_fields import ProfileMapping, load_salesforce_mapping
from paybridge.metrics import Metrics
from paybridge.persistence.doorbell import Doorbell
from paybridge.persistence.engine import create_engine
from paybridge.persistence.uow import UnitOfWorkFactory, unit_of_work_factory
from paybridge.schemas.actions import CaptureCreate, RefundCreate, VoidCreate
from paybridge.schemas.disputes import EvidenceUpdate
from paybridge.schemas.payment_links import PaymentLinkCreate
from paybridge.schemas.payments import PaymentCreate
from paybridge.security import CallerAuthenticator, JwtVerifier
from paybridge.services.actions import ActionService
from paybridge.services.audit import CheckoutCallRecorder
from paybridge.services.authorization_expiry import AuthorizationExpiryService, ExpiryConfig
from paybridge.services.case_assignment import CaseAssignments
from paybridge.services.dispute_actions import DisputeActionService
from paybridge.services.disputes import DisputeService
from paybridge.services.gateway_notifications import GatewayNotificationService
from paybridge.services.idempotency import IdempotencyService
from paybridge.services.payment_adoption import PaymentAdoption
from paybridge.services.payment_links import PaymentLinkService
from paybridge.services.payments import PaymentDefaults, PaymentService
from paybridge.services.reconciliation import ReconciliationService
from paybridge.services.salesforce_disputes import SalesforceDisputeSync
from paybridge.services.salesforce_sync import SalesforceSyncService, SyncConfig
from paybridge.services.settlement import SettlementConfig, SettlementService
from paybridge.services.tasks import TaskService
from paybridge.services.webhooks import WebhookSecrets, WebhookService
from paybridge.settings import CheckoutSettings, GatewaySettings, SalesforceSettings, Settings
from paybridge.worker.tasks import build_worker

_log = structlog.get_logger(__name__)

BODY_MODELS = (
    PaymentCreate,
    PaymentLinkCreate,
    CaptureCreate,
    VoidCreate,
    RefundCreate,
    EvidenceUpdate,
)


def build_container(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    checkout_transport: httpx.AsyncBaseTransport | None = None,
    checkout_retry: RetryPolicy | None = None,
    environ: Mapping[str, str] | None = None,
    salesforce_transport: httpx.AsyncBaseTransport | None = None,
    salesforce_retry: RetryPolicy | None = None,
) -> Container:
    """Everything the app needs; tests pass their own transport, clock or retry policy."""
    # First, so a bad markets file stops start-up before anything is opened.
    markets = load_market_config(settings.markets_file, os.environ if environ is None else environ)
    metrics = Metrics()
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database.pool_size,
        pool_timeout_s=settings.database.pool_timeout_s,
    )
    doorbell = Doorbell()
    uow = unit_of_work_factory(engine, doorbell, TextRedactor(settings.secret_values()))
    cko = settings.checkout
    checkout_http, checkout = build_checkout_client(
        cko,
        CheckoutClient,
        transport=checkout_transport,
        retry_policy=checkout_retry,
        on_call=CheckoutCallRecorder(metrics),
    )
    idempotency = IdempotencyService(
        uow,
        clock=clock,
        lock_timeout=timedelta(seconds=settings.idempotency.lock_timeout_s),
        retention=timedelta(days=settings.idempotency.retention_days),
    )
    field_map = load_field_map(settings.field_map_file)
    dispute_service = DisputeService(
        uow=uow, checkout=checkout, clock=clock, market_secret_keys=markets.secret_keys
    )
    webhook_service = WebhookService(
        uow=uow,
        clock=clock,
        metrics=metrics,
        secrets=WebhookSecrets(
            signature_keys=tuple(k.get_secret_value() for k in cko.webhook_signature_keys),
            authorization=cko.webhook_authorization.get_secret_value()
            if cko.webhook_authorization
            else None,
        ),
        inbox_retention=timedelta(days=settings.inbox_retention_days),
        disputes=dispute_service,
        concurrency=settings.worker.concurrency,
    )
    action_service = ActionService(
        uow=uow,
        checkout=checkout,
        idempotency=idempotency,
        clock=clock,
        market_secret_keys=markets.secret_keys,
        adoption=PaymentAdoption(uow=uow, checkout=checkout, clock=clock),
    )
    payment_service = PaymentService(
        uow=uow,
        checkout=checkout,
        idempotency=idempotency,
        clock=clock,
        field_map=field_map,
        defaults=PaymentDefaults(processing_channel_id=cko.processing_channel_id),
        markets=markets.book,
        market_secret_keys=markets.secret_keys,
    )
    payment_link_service = PaymentLinkService(
        uow=uow,
        checkout=checkout,
        idempotency=idempotency,
        clock=clock,
        field_map=field_map,
        markets=payment_service.markets,
        market_secret_keys=markets.secret_keys,
        expiry_check_every=timedelta(seconds=settings.payment_link_expiry_check_s),
    )
    reconciliation = ReconciliationService(
        uow=uow, checkout=checkout, clock=clock, market_secret_keys=markets.secret_keys
    )
    settlement = SettlementService(
        uow=uow,
        checkout=checkout,
        clock=clock,
        metrics=metrics,
        market_secret_keys=markets.secret_keys,
        config=SettlementConfig(
            unsettled_after=timedelta(days=settings.settlement.unsettled_after_days),
            lookback=timedelta(days=settings.settlement.lookback_days),
            batch=settings.settlement.sweep_batch,
            sweep_hour_utc=settings.settlement.sweep_hour_utc,
        ),
    )
    authorization_expiry = AuthorizationExpiryService(
        uow=uow,
        clock=clock,
        metrics=metrics,
        markets=payment_service.markets,
        config=ExpiryConfig(
            default_validity=timedelta(hours=settings.authorizations.default_validity_h),
            warn_before=timedelta(hours=settings.authorizations.expiry_warning_h),
            check_every=timedelta(seconds=settings.authorizations.check_every_s),
        ),
    )
    task_services: list[TaskService] = [
        webhook_service,
        payment_service,
        payment_link_service,
        action_service,
        reconciliation,
        settlement,
        authorization_expiry,
    ]
    salesforce_http, salesforce_sync = None, None
    if settings.salesforce.is_configured:
        salesforce_http, salesforce_client = build_salesforce_client(
            settings.salesforce, transport=salesforce_transport, retry_policy=salesforce_retry
        )
        # The mapping file is loaded (and validated) here, at start-up.
        sf = settings.salesforce
        profile = load_salesforce_mapping(sf.mapping_file).profile(sf.profile.value)
        cases = CaseAssignments(salesforce_client, profile)
        salesforce_sync = build_salesforce_sync(
            sf, salesforce_client, profile, cases, uow=uow, clock=clock, metrics=metrics
        )
        task_services.append(salesforce_sync)
        task_services.append(
            # Cases of disputes whose payment paybridge does not know (the others ride
            # along with their payment's sync).
            SalesforceDisputeSync(
                uow=uow,
                client=salesforce_client,
                profile=profile,
                cases=cases,
                clock=clock,
                pause_on_limit=timedelta(seconds=sf.pause_on_limit_s),
            )
        )
    else:
        _log.warning(
            "salesforce.not_configured",
            message="PAYBRIDGE_SALESFORCE__INSTANCE_URL is not set: Salesforce sync tasks stay "
            "queued until it is",
        )
    gateway_http = None
    gateway = settings.salesforce.gateway
    if gateway.is_configured:
        gateway_http, sender = build_gateway_client(gateway, transport=salesforce_transport)
        task_services.append(GatewayNotificationService(uow=uow, sender=sender, clock=clock))
    elif settings.salesforce.profile.value == "commerce":
        _log.warning(
            "salesforce.gateway.not_configured",
            message="PAYBRIDGE_SALESFORCE__GATEWAY__NOTIFICATION_URL is not set: notifications "
            "to the payment gateway adapter stay queued until it is",
        )
    return Container(
        settings=settings,
        caller_auth=CallerAuthenticator(
            api_keys=[k.get_secret_value().encode() for k in settings.api_keys],
            jwt=JwtVerifier.from_settings(settings.jwt),
        ),
        engine=engine,
        uow=uow,
        doorbell=doorbell,
        clock=clock,
        metrics=metrics,
        field_map=field_map,
        checkout_http=checkout_http,
        checkout=checkout,
        idempotency=idempotency,
        payments=payment_service,
        payment_links=payment_link_service,
        actions=action_service,
        webhooks=webhook_service,
        reconciliation=reconciliation,
        settlement=settlement,
        authorization_expiry=authorization_expiry,
        task_services=tuple(task_services),
        markets=markets,
        salesforce_http=salesforce_http,
        salesforce_sync=salesforce_sync,
        gateway_http=gateway_http,
        disputes=dispute_service,
        dispute_actions=DisputeActionService(
            uow=uow,
            checkout=checkout,
            idempotency=idempotency,
            clock=clock,
            disputes=dispute_service,
        ),
    )


def build_salesforce_client(
    settings: SalesforceSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry_policy: RetryPolicy | None = None,
) -> tuple[httpx.AsyncClient, SalesforceClient]:
    """The org's REST client over its own httpx client (the caller closes the latter).

    JWT bearer when a private key file and username are set, client credentials otherwise.
    """
    instance_url = settings.instance_url
    if not instance_url or not settings.client_id:
        raise ValueError("Salesforce needs PAYBRIDGE_SALESFORCE__INSTANCE_URL and __CLIENT_ID")
    flow: TokenFlow
    if settings.private_key_file is not None and settings.username:
        flow = JwtBearerFlow.from_key_file(
            settings.private_key_file,
            client_id=settings.client_id,
            username=settings.username,
            audience=settings.jwt_audience,
        )
    elif settings.client_secret is not None:
        flow = ClientCredentialsFlow(settings.client_id, settings.client_secret)
    else:
        raise ValueError(
            "Salesforce needs PAYBRIDGE_SALESFORCE__CLIENT_SECRET (client credentials) or "
            "PAYBRIDGE_SALESFORCE__PRIVATE_KEY_FILE and __USERNAME (JWT bearer)"
        )
    http = build_http_client(
        base_url=instance_url,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.timeout_s,
        transport=transport,
    )
    client = SalesforceClient(
        http,
        instance_url=instance_url,
        api_version=settings.api_version,
        token_provider=TokenProvider.for_instance(http, instance_url, flow),
        retry_policy=retry_policy,
    )
    return http, client


def build_gateway_client(
    settings: GatewaySettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[httpx.AsyncClient, GatewayNotificationClient]:
    """The notification sender over its own httpx client (the caller closes the latter)."""
    url = settings.notification_url
    if not url:
        raise ValueError(
            "gateway notifications need PAYBRIDGE_SALESFORCE__GATEWAY__NOTIFICATION_URL"
        )
    secrets = [secret.get_secret_value() for secret in settings.notification_secrets]
    if not secrets:
        raise ValueError(
            "gateway notifications need PAYBRIDGE_SALESFORCE__GATEWAY__NOTIFICATION_SECRETS"
        )
    http = build_http_client(
        base_url=url,
        connect_timeout_s=min(settings.timeout_s, 5.0),
        read_timeout_s=settings.timeout_s,
        max_connections=10,
        transport=transport,
    )
    return http, GatewayNotificationClient(http, url=url, secrets=secrets)


def build_salesforce_sync(
    sf: SalesforceSettings,
    client: SalesforceClient,
    profile: ProfileMapping,
    cases: CaseAssignments,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    metrics: Metrics,
) -> SalesforceSyncService:
    return SalesforceSyncService(
        uow=uow,
        client=client,
        profile=profile,
        cases=cases,
        clock=clock,
        metrics=metrics,
        config=SyncConfig(
            pause_on_limit=timedelta(seconds=sf.pause_on_limit_s),
            log_levels=frozenset(sf.log_levels),
            log_throttle_ratio=sf.log_throttle_ratio,
            log_sweep_interval=timedelta(seconds=sf.log_sweep_interval_s),
            batch_threshold=sf.batch_threshold,
        ),
    )


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else Settings())
    configure_logging(settings.log_level, secrets=settings.secret_values())
    built = container or build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.api_keys:
            _log.warning(
                "api.keys.missing",
                message="PAYBRIDGE_API_KEYS is empty: every /v1 call will be refused with 401",
            )
        app.state.container = built
        if not settings.checkout.webhook_signature_keys:
            _log.warning(
                "webhooks.keys.missing",
                message="PAYBRIDGE_CHECKOUT__WEBHOOK_SIGNATURE_KEYS is empty: every webhook "
                "will be refused with 401",
            )
        await built.webhooks.schedule_pruning()
        await built.payment_links.schedule_expiry_checks()
        await built.schedule_periodic_checks()
        if built.salesforce_sync is not None:
            await built.salesforce_sync.schedule_log_sweep()
        worker = build_worker(built) if settings.worker.embedded else None
        worker_task = asyncio.create_task(worker.run()) if worker else None
        try:
            yield
        finally:
            if worker is not None and worker_task is not None:
                worker.stop()
                await worker_task
                await worker.release_claimed()
            await built.aclose()

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
    app.include_router(payment_links.router)
    app.include_router(actions.router)
    app.include_router(disputes.router)
    app.include_router(webhooks.router)
    # Matched first: the webhook route without FastAPI's per-request routing machinery.
    app.router.routes.insert(0, webhooks.FAST_ROUTE)
    return app


C = TypeVar("C", bound=CheckoutClient)


def build_checkout_client(
    settings: CheckoutSettings,
    client_class: type[C],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry_policy: RetryPolicy | None = None,
    on_call: OnCall | None = None,
) -> tuple[httpx.AsyncClient, C]:
    """A Checkout.com client (or subclass) over its own httpx client (the caller closes it)."""
    http = build_http_client(
        base_url=settings.base_url,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        transport=transport,
    )
    client = client_class(
        http,
        secret_key=settings.secret_key.get_secret_value(),
        retry_policy=retry_policy
        or RetryPolicy(max_attempts=settings.max_attempts, budget_s=settings.retry_budget_s),
        on_call=on_call,
    )
    return http, client
