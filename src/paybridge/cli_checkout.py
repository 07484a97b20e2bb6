"""`paybridge checkout webhooks setup|test`: the Checkout.com webhook workflow from the shell.

`setup` prints the `PAYBRIDGE_CHECKOUT__…` values to put in paybridge's environment (the
signature key among them, on stdout only: it is never logged). `test` has Checkout.com send
test events and reports whether paybridge stored them, which it does only once their
signature verified.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import click
import httpx

from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.adapters.checkout.workflows import CheckoutWorkflowClient
from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_checkout_client
from paybridge.domain.clock import Clock, utc_now
from paybridge.domain.redaction import TextRedactor
from paybridge.logging import configure_logging
from paybridge.mapping.checkout_workflows import DEFAULT_WORKFLOW_NAME, handled_event_types
from paybridge.persistence.engine import create_engine
from paybridge.persistence.uow import unit_of_work_factory
from paybridge.services.webhook_workflow import (
    SetupResult,
    WorkflowTarget,
    deliver_test_events,
    find_workflow,
    set_up,
)
from paybridge.settings import Settings

Echo = Callable[[str], None]
SIGNATURE_KEYS_ENV = "PAYBRIDGE_CHECKOUT__WEBHOOK_SIGNATURE_KEYS"
AUTHORIZATION_ENV = "PAYBRIDGE_CHECKOUT__WEBHOOK_AUTHORIZATION"
URL_ENV = "PAYBRIDGE_CHECKOUT__WEBHOOK_URL"
DEFAULT_TEST_EVENT = "payment_approved"


def workflow_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> tuple[httpx.AsyncClient, CheckoutWorkflowClient]:
    """The Workflows client over its own httpx client (the caller closes the latter)."""
    return build_checkout_client(
        settings.checkout, CheckoutWorkflowClient, transport=transport, retry_policy=retry
    )


def operator_logging(settings: Settings) -> None:
    """Redacted JSON logs as the service writes them, but only warnings unless
    PAYBRIDGE_LOG_LEVEL asks for more: the command's own lines are what the operator reads."""
    level = settings.log_level if "PAYBRIDGE_LOG_LEVEL" in os.environ else "WARNING"
    configure_logging(level, secrets=settings.secret_values())


@click.group(name="checkout")
def checkout_group() -> None:
    """Checkout.com account set-up."""


@checkout_group.group(name="webhooks")
def webhooks_group() -> None:
    """The webhook workflow Checkout.com delivers events with."""


_NAME = click.option(
    "--name", default=DEFAULT_WORKFLOW_NAME, show_default=True, help="The workflow's name."
)


@webhooks_group.command(name="setup")
@click.option(
    "--url",
    default=None,
    help=f"Public URL of paybridge's POST /v1/webhooks/checkout (default: {URL_ENV}).",
)
@_NAME
@click.option(
    "--rotate-key", is_flag=True, help="Write the webhook action with a new signature key."
)
def setup_command(url: str | None, name: str, rotate_key: bool) -> None:
    """Register (or bring up to date) the workflow sending paybridge every event it handles."""
    settings = Settings()
    operator_logging(settings)
    code = asyncio.run(webhooks_setup(settings, url=url, name=name, rotate_key=rotate_key))
    if code:
        raise SystemExit(code)


@webhooks_group.command(name="test")
@_NAME
@click.option(
    "--event-type",
    "event_types",
    multiple=True,
    type=click.Choice(handled_event_types()),
    metavar="EVENT_TYPE",
    default=[DEFAULT_TEST_EVENT],
    show_default=True,
    help="Event type(s) to send (repeatable).",
)
@click.option("--timeout", "timeout_s", default=60.0, show_default=True, type=float)
def test_command(name: str, event_types: tuple[str, ...], timeout_s: float) -> None:
    """Have Checkout.com send test events (sandbox accounts) and check paybridge verified them."""
    settings = Settings()
    operator_logging(settings)
    code = asyncio.run(
        webhooks_test(settings, name=name, event_types=event_types, timeout_s=timeout_s)
    )
    if code:
        raise SystemExit(code)


async def webhooks_setup(
    settings: Settings,
    *,
    url: str | None,
    name: str = DEFAULT_WORKFLOW_NAME,
    rotate_key: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
    echo: Echo = click.echo,
) -> int:
    """0 when the workflow is in place (the values to set printed); 1 with the reason."""
    cko = settings.checkout
    target_url = url or cko.webhook_url
    if not target_url:
        echo(f"configuration: give --url or set {URL_ENV}")
        return 1
    if not target_url.startswith("https://"):
        echo(f"warning: {target_url} is not https: Checkout.com's live accounts require TLS")
    authorization = cko.webhook_authorization
    target = WorkflowTarget(
        name=name,
        url=target_url,
        authorization=authorization.get_secret_value() if authorization else None,
    )
    http, client = workflow_client(settings, transport=transport, retry=retry)
    try:
        result = await set_up(client, target, rotate_key=rotate_key)
    except CheckoutError as exc:
        echo(f"Checkout.com: {exc.message}")
        return 1
    finally:
        await http.aclose()
    previous = [key.get_secret_value() for key in cko.webhook_signature_keys]
    for line in setup_report(result, url=target_url, previous_keys=previous):
        echo(line)
    return 0


def setup_report(result: SetupResult, *, url: str, previous_keys: list[str]) -> list[str]:
    """What happened, then the environment values to set (secrets only when new)."""
    lines = [f"workflow {result.workflow_id}: {result.outcome}"]
    lines.extend(f"  {change}" for change in result.changes)
    values = [f"{URL_ENV}={url}"]
    if result.signature_key is not None:
        # New key first; keys still configured keep verifying deliveries already signed.
        keys = [result.signature_key, *(k for k in previous_keys if k != result.signature_key)]
        values.append(f"{SIGNATURE_KEYS_ENV}={','.join(keys)}")
    if result.authorization is not None:
        values.append(f"{AUTHORIZATION_ENV}={result.authorization}")
    lines.append("Set in paybridge's environment (a secret store for keys), then restart it:")
    lines.extend(f"  {value}" for value in values)
    if result.signature_key is not None and len(keys) > 1:
        lines.append("  (drop the older keys once a day has passed: retries are then over)")
    return lines


async def webhooks_test(
    settings: Settings,
    *,
    name: str = DEFAULT_WORKFLOW_NAME,
    event_types: tuple[str, ...] = (DEFAULT_TEST_EVENT,),
    timeout_s: float = 60.0,
    poll_s: float = 0.5,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock = utc_now,
    echo: Echo = click.echo,
) -> int:
    """0 when paybridge stored (so verified) a test event of every type; 1 otherwise."""
    http, client = workflow_client(settings, transport=transport, retry=retry)
    engine = create_engine(settings.database_url)
    uow = unit_of_work_factory(engine, None, TextRedactor(settings.secret_values()))
    try:
        workflow = await find_workflow(client, name=name, url=settings.checkout.webhook_url)
        if workflow is None:
            echo(f"no workflow named {name!r}: run `paybridge checkout webhooks setup` first")
            return 1
        check = await deliver_test_events(
            client,
            uow,
            workflow_id=workflow.id,
            event_types=event_types,
            clock=clock,
            timeout_s=timeout_s,
            poll_s=poll_s,
        )
    except CheckoutError as exc:
        echo(f"Checkout.com: {exc.message}")
        return 1
    finally:
        await http.aclose()
        await engine.dispose()
    for event_id, event_type, status in check.received:
        echo(f"received and verified: {event_id} ({event_type}), {status}")
    if check.ok:
        echo(f"OK: paybridge verified the test event(s) of workflow {workflow.id}")
        return 0
    missing = sorted(set(event_types) - {t for _, t, _ in check.received})
    echo(
        f"not received within {timeout_s:g} s: {', '.join(missing)}. Check that the workflow's "
        "URL reaches paybridge and that its signature key is in "
        f"{SIGNATURE_KEYS_ENV} (refused deliveries count in "
        'paybridge_webhooks_total{outcome="unauthenticated"})'
    )
    return 1
