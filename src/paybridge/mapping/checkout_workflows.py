"""The Checkout.com webhook workflow paybridge needs, and how a registered one differs from it.

The event types are the ones the webhook intake maps (`PAYMENT_EVENTS`, dispute
`EVENT_STATUSES`), so the subscription can never drift from what paybridge handles. Workflows
group event types by source: `gateway` for payments and cards, `dispute` for disputes (the
spec's `add-workflow-request` example).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from paybridge.adapters.checkout.workflows import (
    EventConditionRequest,
    WebhookActionRequest,
    WebhookSignature,
    Workflow,
    WorkflowAction,
    WorkflowCondition,
    WorkflowRequest,
)
from paybridge.domain.disputes import EVENT_STATUSES
from paybridge.mapping.checkout_events import PAYMENT_EVENTS

DEFAULT_WORKFLOW_NAME = "paybridge"
AUTHORIZATION_HEADER = "Authorization"


def handled_event_types() -> tuple[str, ...]:
    """Every event type paybridge applies, sorted."""
    return tuple(sorted({*PAYMENT_EVENTS, *EVENT_STATUSES}))


def event_source(event_type: str) -> str:
    return "dispute" if event_type.startswith("dispute_") else "gateway"


def events_by_source(event_types: Iterable[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for event_type in sorted(set(event_types)):
        grouped.setdefault(event_source(event_type), []).append(event_type)
    return grouped


def event_condition(event_types: Iterable[str]) -> EventConditionRequest:
    return EventConditionRequest(events=events_by_source(event_types))


def webhook_action(
    url: str, *, signature_key: str, authorization: str | None
) -> WebhookActionRequest:
    headers = {AUTHORIZATION_HEADER: authorization} if authorization else None
    return WebhookActionRequest(
        url=url, headers=headers, signature=WebhookSignature(key=signature_key)
    )


def workflow_request(
    name: str,
    url: str,
    *,
    signature_key: str,
    authorization: str | None,
    event_types: Iterable[str],
) -> WorkflowRequest:
    return WorkflowRequest(
        name=name,
        active=True,
        conditions=[event_condition(event_types)],
        actions=[webhook_action(url, signature_key=signature_key, authorization=authorization)],
    )


def subscribed_events(workflow: Workflow) -> frozenset[str]:
    """The event types the workflow's `event` condition selects (any source)."""
    condition = find_event_condition(workflow)
    if condition is None or condition.events is None:
        return frozenset()
    return frozenset(t for types in condition.events.values() for t in types)


def find_event_condition(workflow: Workflow) -> WorkflowCondition | None:
    return next((c for c in workflow.conditions if c.type == "event"), None)


def find_webhook_action(workflow: Workflow, url: str | None = None) -> WorkflowAction | None:
    """The webhook action posting to `url`, else the workflow's first webhook action."""
    webhooks = [a for a in workflow.actions if a.type == "webhook"]
    return next((a for a in webhooks if a.url == url), webhooks[0] if webhooks else None)


def has_webhook_to(workflow: Workflow, url: str) -> bool:
    return any(a.type == "webhook" and a.url == url for a in workflow.actions)


def event_drift(workflow: Workflow, wanted: Iterable[str]) -> list[str]:
    """What the event condition lacks or has too many of, in words (empty: it matches)."""
    have, want = subscribed_events(workflow), frozenset(wanted)
    problems: list[str] = []
    if missing := sorted(want - have):
        problems.append(f"misses {len(missing)} event type(s): {', '.join(missing)}")
    if extra := sorted(have - want):
        problems.append(f"sends {len(extra)} event type(s) paybridge ignores: {', '.join(extra)}")
    return problems


def action_drift(
    action: WorkflowAction | None, *, url: str, authorization: str | None
) -> list[str]:
    """Why the webhook action must be rewritten (empty: it posts where and how it should)."""
    if action is None:
        return ["has no webhook action"]
    problems: list[str] = []
    if action.url != url:
        problems.append(f"posts to {action.url}, not {url}")
    # Only its absence is certain: whether GET shows a header's value as set is undocumented.
    headers: Mapping[str, str] = action.headers or {}
    if authorization is not None and AUTHORIZATION_HEADER not in headers:
        problems.append("sends no Authorization header, though one is configured")
    return problems
