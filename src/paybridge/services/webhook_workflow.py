"""Registering paybridge's webhook workflow at Checkout.com, idempotently, and testing it.

`set_up` creates the workflow, or brings an existing one (found by name, else by its webhook
URL) in line: the event condition is rewritten when the event types differ, the webhook action
when it posts elsewhere (or a key rotation is asked for), and the workflow is re-activated.
Only a written webhook action gets a new signature key, returned once to the caller: never
logged. `deliver_test_events` asks for a test event and watches paybridge's inbox for it: a stored
delivery is one whose `Cko-Signature` was verified (the intake stores nothing else).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from paybridge.adapters.checkout.workflows import (
    CheckoutWorkflowClient,
    Workflow,
    WorkflowPatch,
    WorkflowTestRequest,
)
from paybridge.domain.clock import Clock
from paybridge.mapping.checkout_workflows import (
    action_drift,
    event_condition,
    event_drift,
    find_event_condition,
    find_webhook_action,
    handled_event_types,
    has_webhook_to,
    webhook_action,
    workflow_request,
)
from paybridge.persistence.uow import UnitOfWorkFactory

_log = structlog.get_logger(__name__)

SIGNATURE_KEY_BYTES = 32


def new_secret() -> str:
    """A random URL-safe key (256 bits) for the webhook signature or Authorization header."""
    return secrets.token_urlsafe(SIGNATURE_KEY_BYTES)


@dataclass(frozen=True, slots=True)
class WorkflowTarget:
    """What the workflow must be: its name, where it posts, and the Authorization header
    paybridge expects (None: none configured, so the set-up makes one)."""

    name: str
    url: str
    authorization: str | None
    event_types: tuple[str, ...] = field(default_factory=handled_event_types)


@dataclass(frozen=True, slots=True)
class SetupResult:
    """`outcome`: created | updated | unchanged. `signature_key` (and `authorization`, when
    none was configured) are set only when the webhook action was written with them."""

    outcome: str
    workflow_id: str
    changes: tuple[str, ...]
    signature_key: str | None = None
    authorization: str | None = None


async def find_workflow(
    client: CheckoutWorkflowClient, *, name: str, url: str | None
) -> Workflow | None:
    """The workflow named `name`, else the one whose webhook posts to `url`."""
    summaries = (await client.list_workflows()).data
    named = next((s for s in summaries if s.name == name), None)
    if named is not None:
        return await client.get_workflow(named.id)
    if url is None:
        return None
    for summary in summaries:
        workflow = await client.get_workflow(summary.id)
        if has_webhook_to(workflow, url):
            return workflow
    return None


async def set_up(
    client: CheckoutWorkflowClient,
    target: WorkflowTarget,
    *,
    rotate_key: bool = False,
    make_secret: Callable[[], str] = new_secret,
) -> SetupResult:
    """Create or update the workflow so that it matches `target` (a re-run changes nothing)."""
    existing = await find_workflow(client, name=target.name, url=target.url)
    if existing is None:
        return await _create(client, target, make_secret)
    return await _bring_in_line(client, existing, target, rotate_key, make_secret)


async def _create(
    client: CheckoutWorkflowClient, target: WorkflowTarget, make_secret: Callable[[], str]
) -> SetupResult:
    key, made_authorization = make_secret(), None if target.authorization else make_secret()
    request = workflow_request(
        target.name,
        target.url,
        signature_key=key,
        authorization=target.authorization or made_authorization,
        event_types=target.event_types,
    )
    created = await client.create_workflow(request)
    _log.info("checkout.workflow.created", workflow_id=created.id, url=target.url)
    change = f"created: {len(target.event_types)} event types → {target.url}"
    return SetupResult("created", created.id, (change,), key, made_authorization)


async def _bring_in_line(
    client: CheckoutWorkflowClient,
    existing: Workflow,
    target: WorkflowTarget,
    rotate_key: bool,
    make_secret: Callable[[], str],
) -> SetupResult:
    wid = existing.id
    changes: list[str] = []
    condition = find_event_condition(existing)
    if condition is None:
        await client.add_condition(wid, event_condition(target.event_types))
        changes.append("event condition added")
    elif drift := event_drift(existing, target.event_types):
        await client.update_condition(wid, condition.id, event_condition(target.event_types))
        changes.extend(f"event condition {problem}: rewritten" for problem in drift)

    key = made_authorization = None
    action = find_webhook_action(existing, target.url)
    reasons = action_drift(action, url=target.url, authorization=target.authorization)
    if rotate_key:
        reasons.append("key rotation asked for")
    if reasons:
        key, made_authorization = make_secret(), None if target.authorization else make_secret()
        written = webhook_action(
            target.url, signature_key=key, authorization=target.authorization or made_authorization
        )
        if action is None:
            await client.add_action(wid, written)
        else:
            await client.update_action(wid, action.id, written)
        changes.extend(f"webhook action {reason}: rewritten with a new key" for reason in reasons)

    if existing.active is not True or existing.name != target.name:
        await client.patch_workflow(wid, WorkflowPatch(name=target.name, active=True))
        changes.append(f"named {target.name!r} and activated")

    outcome = "updated" if changes else "unchanged"
    _log.info("checkout.workflow.checked", workflow_id=wid, outcome=outcome, changes=len(changes))
    return SetupResult(outcome, wid, tuple(changes), key, made_authorization)


@dataclass(frozen=True, slots=True)
class DeliveryCheck:
    """`received`: the test events paybridge stored (verified), as (event id, type, status)."""

    workflow_id: str
    event_types: tuple[str, ...]
    received: tuple[tuple[str, str, str], ...]

    @property
    def ok(self) -> bool:
        return {t for _, t, _ in self.received} >= set(self.event_types)


async def deliver_test_events(
    client: CheckoutWorkflowClient,
    uow: UnitOfWorkFactory,
    *,
    workflow_id: str,
    event_types: Sequence[str],
    clock: Clock,
    timeout_s: float,
    poll_s: float = 0.5,
    lookback: timedelta = timedelta(minutes=10),
) -> DeliveryCheck:
    """Ask Checkout.com for test events and wait until paybridge's inbox holds each type.

    The inbox is read from `lookback` ago (the caller's clock and paybridge's may differ);
    deliveries already there before the request are left out, so only new ones count."""
    types = tuple(event_types)
    since = clock() - lookback
    before = await _stored_ids(uow, since, types)
    await client.test_workflow(workflow_id, WorkflowTestRequest(event_types=list(types)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        received = await _stored_since(uow, since, types, before)
        result = DeliveryCheck(workflow_id, types, received)
        if result.ok or loop.time() >= deadline:
            return result
        await asyncio.sleep(poll_s)


async def _stored_ids(uow: UnitOfWorkFactory, since: datetime, types: Sequence[str]) -> set[str]:
    async with uow() as work:
        rows = await work.events.list_received_since(since, types=types)
    return {str(row["event_id"]) for row in rows}


async def _stored_since(
    uow: UnitOfWorkFactory, since: datetime, types: Sequence[str], before: set[str]
) -> tuple[tuple[str, str, str], ...]:
    async with uow() as work:
        rows = await work.events.list_received_since(since, types=types)
    return tuple(
        (str(row["event_id"]), str(row["type"]), str(row["status"]))
        for row in rows
        if row["event_id"] not in before
    )
