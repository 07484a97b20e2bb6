"""One process, the whole system: paybridge wired to both simulators, mounted beside it.

paybridge's Checkout.com and Salesforce clients reach the simulators through
`httpx.ASGITransport` at the URLs where the same simulator apps are mounted
(`/sandbox/checkout-api`, `/sandbox/salesforce-api`), so a human can `curl` them too; the
simulated Checkout.com posts its webhooks back to paybridge the same way. No extra port, no
outbound network.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from paybridge.app import build_container, create_app
from paybridge.mapping.salesforce_fields import load_salesforce_mapping
from paybridge.sandbox.checkout_pages import link_routes, redirect_routes
from paybridge.sandbox.checkout_sim import CheckoutSimulator
from paybridge.sandbox.checkout_webhooks import WebhookSender
from paybridge.sandbox.console import PREFIX as CONSOLE
from paybridge.sandbox.console import router as console_router
from paybridge.sandbox.salesforce_sim import SalesforceSimulator
from paybridge.settings import Environment, Settings

CHECKOUT_MOUNT = "/sandbox/checkout-api"
SALESFORCE_MOUNT = "/sandbox/salesforce-api"
REDIRECT_MOUNT = "/sandbox/checkout"
DEMO_ORDER_ID = "8015g00000AbCdEAAV"
DEMO_ORDER_NUMBER = "00000100"
PROCESSING_CHANNEL = "pc_sandboxchannel000000000000"


@dataclass(frozen=True)
class WebhookKnobs:
    delay_s: float = 0.1
    duplicates: int = 0
    reorder: bool = False


@dataclass
class Sandbox:
    """The running pieces; the console and the tests reach the simulators through it."""

    app: FastAPI
    settings: Settings
    public_url: str
    api_key: str
    api_key_generated: bool
    checkout: CheckoutSimulator
    salesforce: SalesforceSimulator
    webhooks: WebhookSender
    api: httpx.AsyncClient = field(repr=False)
    _order_numbers: int = 100

    def next_order_number(self) -> str:
        self._order_numbers += 1
        return f"{self._order_numbers:08d}"

    async def aclose(self) -> None:
        await self.webhooks.aclose()
        await self.api.aclose()


def sandbox_settings(
    base: Settings, *, public_url: str, database_url: str, salesforce: SalesforceSimulator
) -> tuple[Settings, bool]:
    """`base` (the environment) turned into the sandbox's settings; True when the API key
    was generated here (PAYBRIDGE_API_KEYS unset)."""
    generated = not base.api_keys
    api_keys = base.api_keys or [SecretStr("sbx_" + secrets.token_urlsafe(24))]
    signature_keys = base.checkout.webhook_signature_keys or [
        SecretStr("whsec_sbx_" + secrets.token_urlsafe(24))
    ]
    checkout = base.checkout.model_copy(
        update={
            "base_url": public_url + CHECKOUT_MOUNT,
            "secret_key": SecretStr(CheckoutSimulator.secret_key),
            "processing_channel_id": base.checkout.processing_channel_id or PROCESSING_CHANNEL,
            "webhook_signature_keys": signature_keys,
        }
    )
    org = base.salesforce.model_copy(
        update={
            "instance_url": salesforce.instance_url,
            "client_id": salesforce.client_id,
            "client_secret": SecretStr(salesforce.client_secret),
            "username": None,
            "private_key_file": None,
            "api_version": salesforce.api_version,
        }
    )
    worker = base.worker.model_copy(update={"embedded": True, "poll_interval_s": 0.2})
    settings = base.model_copy(
        update={
            "environment": Environment.SANDBOX,
            "database_url": database_url,
            "api_keys": api_keys,
            "checkout": checkout,
            "salesforce": org,
            "worker": worker,
        }
    )
    return settings, generated


def build_sandbox(
    *,
    public_url: str,
    database_url: str,
    base: Settings | None = None,
    knobs: WebhookKnobs | None = None,
) -> Sandbox:
    """paybridge + simulators + console. The database must already be migrated."""
    public_url = public_url.rstrip("/")
    base = base or Settings()
    knobs = knobs or WebhookKnobs()
    mapping = load_salesforce_mapping(base.salesforce.mapping_file)
    salesforce = SalesforceSimulator(mapping=mapping, instance_url=public_url + SALESFORCE_MOUNT)
    settings, generated = sandbox_settings(
        base, public_url=public_url, database_url=database_url, salesforce=salesforce
    )
    cko = settings.checkout
    webhooks = WebhookSender(
        signature_key=cko.webhook_signature_keys[0].get_secret_value(),
        authorization=cko.webhook_authorization.get_secret_value()
        if cko.webhook_authorization
        else None,
        delay_s=knobs.delay_s,
        duplicates=knobs.duplicates,
        reorder=knobs.reorder,
    )
    checkout = CheckoutSimulator(
        webhooks=webhooks,
        redirect_base=f"{public_url}{REDIRECT_MOUNT}/redirect",
        link_page_base=f"{public_url}{REDIRECT_MOUNT}/link",
        spec23_statuses=True,
    )
    checkout_app = checkout.app()
    container = build_container(
        settings,
        checkout_transport=httpx.ASGITransport(app=checkout_app, root_path=CHECKOUT_MOUNT),
        salesforce_transport=httpx.ASGITransport(app=salesforce.app, root_path=SALESFORCE_MOUNT),
    )
    app = create_app(container=container)
    api_key = settings.api_keys[0].get_secret_value()
    loopback = httpx.ASGITransport(app=app)
    webhooks.connect(httpx.AsyncClient(transport=loopback, base_url=public_url))
    sandbox = Sandbox(
        app=app,
        settings=settings,
        public_url=public_url,
        api_key=api_key,
        api_key_generated=generated,
        checkout=checkout,
        salesforce=salesforce,
        webhooks=webhooks,
        api=httpx.AsyncClient(
            transport=loopback, base_url=public_url, headers={"X-API-Key": api_key}
        ),
    )
    seed_demo_order(salesforce)
    app.state.sandbox = sandbox
    app.mount(CHECKOUT_MOUNT, checkout_app)
    app.mount(SALESFORCE_MOUNT, salesforce.app)
    app.include_router(console_router)
    app.router.routes.extend(redirect_routes(REDIRECT_MOUNT, console=CONSOLE))
    app.router.routes.extend(link_routes(REDIRECT_MOUNT, console=CONSOLE))
    _close_with_app(app, sandbox)
    return sandbox


def seed_demo_order(salesforce: SalesforceSimulator) -> None:
    """The Order the README's and the walkthrough's requests name."""
    salesforce.records.setdefault("Order", {})[DEMO_ORDER_ID] = {
        "Id": DEMO_ORDER_ID,
        "OrderNumber": DEMO_ORDER_NUMBER,
        "Status": "Draft",
        "TotalAmount": "149.90",
        "CurrencyIsoCode": "EUR",
    }


def _close_with_app(app: FastAPI, sandbox: Sandbox) -> None:
    """Stop webhook deliveries before paybridge's own shutdown (worker, engine) runs."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(instance: Any) -> AsyncIterator[Any]:
        async with inner(instance) as state:
            try:
                yield state
            finally:
                await sandbox.aclose()

    app.router.lifespan_context = lifespan
