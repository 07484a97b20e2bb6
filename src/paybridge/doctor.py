"""`paybridge doctor`'s checks: is this installation ready to take payments?

Each check returns one `Finding` (status, what was seen, how to fix it); they are independent,
so one failure never hides another. The Salesforce org check is the `salesforce check`
command's own function, passed in.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import click
import httpx
from sqlalchemy.exc import SQLAlchemyError

from paybridge.adapters.checkout.errors import CheckoutAuthError, CheckoutError
from paybridge.adapters.checkout.workflows import CheckoutWorkflowClient, WorkflowList
from paybridge.adapters.http import RetryPolicy
from paybridge.cli_checkout import URL_ENV, operator_logging, workflow_client
from paybridge.mapping.checkout_workflows import (
    DEFAULT_WORKFLOW_NAME,
    action_drift,
    event_drift,
    find_webhook_action,
    handled_event_types,
)
from paybridge.mapping.markets_file import MarketsFileError, load_market_config
from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import database_revision, head_revision
from paybridge.services.webhook_workflow import find_workflow
from paybridge.settings import Settings

DATABASE_TIMEOUT_S = 10.0
SETUP_FIX = "run `paybridge checkout webhooks setup`"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # not configured on purpose is allowed; nothing is broken
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str | None = None

    def line(self) -> str:
        fix = f" → fix: {self.fix}" if self.fix and self.status is not Status.OK else ""
        return f"{self.status.value.upper():4}  {self.check}: {self.detail}{fix}"


class SalesforceCheck(Protocol):
    """`paybridge salesforce check` as a function: prints its lines, returns 0 or 1."""

    def __call__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = ...,
        echo: Callable[[str], None] = ...,
    ) -> Awaitable[int]: ...


async def check_database(settings: Settings) -> Finding:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S):
            current = await database_revision(engine)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return Finding(
            "database",
            Status.FAIL,
            f"cannot connect ({type(exc).__name__})",
            "check PAYBRIDGE_DATABASE_URL and that the database is up and reachable",
        )
    finally:
        await engine.dispose()
    head = head_revision()
    if current != head:
        return Finding(
            "database",
            Status.FAIL,
            f"schema at revision {current or 'none'}, the code needs {head}",
            "run `paybridge migrate`",
        )
    return Finding("database", Status.OK, f"connected, schema at head ({head})")


def check_markets(settings: Settings, environ: Mapping[str, str]) -> Finding:
    path = settings.markets_file
    if path is None:
        return Finding(
            "markets", Status.OK, "no markets file: one market from the Checkout.com settings"
        )
    try:
        config = load_market_config(path, environ)
    except MarketsFileError as exc:
        first = exc.problems[0] if exc.problems else str(exc)
        more = f" (+{len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return Finding(
            "markets", Status.FAIL, first + more, f"run `paybridge markets check {path}`"
        )
    count = len(config.book.markets) if config.book is not None else 0
    return Finding("markets", Status.OK, f"{path}: {count} market(s), every key variable set")


async def check_checkout(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> list[Finding]:
    """The key (listing workflows is a cheap authenticated call), then the webhook workflow."""
    cko = settings.checkout
    if not cko.secret_key.get_secret_value():
        return [
            Finding("checkout key", Status.FAIL, "not set", "set PAYBRIDGE_CHECKOUT__SECRET_KEY"),
            Finding("webhook workflow", Status.FAIL, "not checked: no key", SETUP_FIX),
        ]
    http, client = workflow_client(settings, transport=transport, retry=retry)
    try:
        try:
            listed = await client.list_workflows()
        except CheckoutAuthError:
            return [
                Finding(
                    "checkout key",
                    Status.FAIL,
                    f"refused by {cko.base_url}",
                    "set PAYBRIDGE_CHECKOUT__SECRET_KEY to a secret key of this account and "
                    "environment, with the flow:workflows scope",
                ),
                Finding("webhook workflow", Status.FAIL, "not checked: key refused", SETUP_FIX),
            ]
        except CheckoutError as exc:
            return [
                Finding(
                    "checkout key",
                    Status.FAIL,
                    exc.message,
                    "check PAYBRIDGE_CHECKOUT__BASE_URL and the network path to Checkout.com",
                ),
                Finding("webhook workflow", Status.FAIL, "not checked", SETUP_FIX),
            ]
        key = Finding("checkout key", Status.OK, f"accepted by {cko.base_url}")
        return [key, await _check_workflow(client, listed, cko.webhook_url)]
    finally:
        await http.aclose()


async def _check_workflow(
    client: CheckoutWorkflowClient, listed: WorkflowList, url: str | None
) -> Finding:
    name = "webhook workflow"
    if url is None:
        return Finding(name, Status.FAIL, f"{URL_ENV} is not set", f"set it, then {SETUP_FIX}")
    if not listed.data:
        return Finding(name, Status.FAIL, "the account has no workflow", SETUP_FIX)
    try:
        workflow = await find_workflow(client, name=DEFAULT_WORKFLOW_NAME, url=url)
    except CheckoutError as exc:
        return Finding(name, Status.FAIL, exc.message, "check the key's flow:workflows scope")
    if workflow is None:
        found = f"none named {DEFAULT_WORKFLOW_NAME!r} or posting to {url}"
        return Finding(name, Status.FAIL, found, SETUP_FIX)
    problems = event_drift(workflow, handled_event_types())
    problems += action_drift(find_webhook_action(workflow, url), url=url, authorization=None)
    if workflow.active is not True:
        problems.append("is not active")
    if problems:
        return Finding(name, Status.FAIL, f"{workflow.id} " + "; ".join(problems), SETUP_FIX)
    events = len(handled_event_types())
    return Finding(name, Status.OK, f"{workflow.id} active, {events} event types → {url}")


async def check_salesforce(
    settings: Settings,
    org_check: SalesforceCheck,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Finding]:
    """Auth and the org's readiness, from one run of `salesforce check`."""
    if not settings.salesforce.is_configured:
        detail = "not configured: Salesforce sync tasks stay queued until it is"
        fix = "set PAYBRIDGE_SALESFORCE__INSTANCE_URL and its credentials"
        return [Finding("salesforce", Status.WARN, detail, fix)]
    lines: list[str] = []
    code = await org_check(settings, transport=transport, echo=lines.append)
    no_session = ("configuration:", "Salesforce:", "problem: authentication failed")
    refused = next((ln for ln in lines if ln.startswith(no_session)), None)
    if refused is not None:
        return [
            Finding(
                "salesforce auth",
                Status.FAIL,
                refused.removeprefix("problem: "),
                "check PAYBRIDGE_SALESFORCE__* (instance URL, client id, secret or key file)",
            ),
            Finding("salesforce org", Status.FAIL, "not checked: no session", None),
        ]
    auth = Finding("salesforce auth", Status.OK, lines[0] if lines else "logged in")
    problems = [ln.removeprefix("problem: ") for ln in lines if ln.startswith("problem:")]
    if code or problems:
        detail = "; ".join(problems) or (lines[-1] if lines else "failed")
        fix = "deploy the salesforce/ package or fix the mapping (`paybridge salesforce check`)"
        return [auth, Finding("salesforce org", Status.FAIL, detail, fix)]
    described = sum(1 for ln in lines if ln.strip().startswith("described "))
    return [
        auth,
        Finding("salesforce org", Status.OK, f"{described} object(s) described, fields mapped"),
    ]


@dataclass(frozen=True, slots=True)
class DoctorWiring:
    """Test seams: where HTTP goes and how retries wait; the environment markets read."""

    checkout_transport: httpx.AsyncBaseTransport | None = None
    checkout_retry: RetryPolicy | None = None
    salesforce_transport: httpx.AsyncBaseTransport | None = None
    environ: Mapping[str, str] | None = None


async def run_doctor(
    settings: Settings, org_check: SalesforceCheck, wiring: DoctorWiring = DoctorWiring()
) -> list[Finding]:
    """Every check, in the order an operator fixes them."""
    findings = [await check_database(settings)]
    findings += await check_checkout(
        settings, transport=wiring.checkout_transport, retry=wiring.checkout_retry
    )
    findings += await check_salesforce(settings, org_check, transport=wiring.salesforce_transport)
    findings.append(
        check_markets(settings, os.environ if wiring.environ is None else wiring.environ)
    )
    return findings


def doctor_command(org_check: SalesforceCheck) -> click.Command:
    """The `doctor` command, given `salesforce check`'s function (it lives in `cli`)."""

    @click.command(name="doctor")
    def doctor() -> None:
        """Check the database, Checkout.com, the webhook workflow, Salesforce and the markets
        file; one line each, with a fix. Exits 1 when a check fails."""
        settings = Settings()
        operator_logging(settings)
        findings = asyncio.run(run_doctor(settings, org_check))
        for finding in findings:
            click.echo(finding.line())
        if any(f.status is Status.FAIL for f in findings):
            raise SystemExit(1)

    return doctor
