"""Checkout.com's published webhook samples (tests/fixtures/checkout_webhooks, sources in its
README), and variants derived from them for scenarios Checkout.com publishes no sample of."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "checkout_webhooks"


def sample(name: str) -> dict[str, Any]:
    """A published sample, as published (a fresh copy on every call)."""
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def sample_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def derived(
    name: str,
    *,
    event_id: str,
    payment_id: str,
    action_id: str | None = None,
    amount: int | None = None,
    balances: dict[str, int] | None = None,
    drop: tuple[str, ...] = (),
    **data: Any,
) -> dict[str, Any]:
    """A variant of the published sample `name`: only the named fields differ (the event id,
    `data.id`, `data.action_id`, `data.amount`, `data.balances`, other `data` fields given,
    and the `data` fields in `drop` left out). Every test using one says which sample."""
    body = copy.deepcopy(sample(name))
    body["id"] = event_id
    fields: dict[str, Any] = body["data"]
    fields["id"] = payment_id
    if action_id is not None:
        fields["action_id"] = action_id
    if amount is not None:
        fields["amount"] = amount
    if balances is not None:
        fields["balances"] = balances
    fields.update(data)
    for key in drop:
        fields.pop(key, None)
    return body


def balances(
    *,
    authorized: int,
    captured: int = 0,
    refunded: int = 0,
    voided: int = 0,
    capture_closed: bool = False,
) -> dict[str, int]:
    """A `data.balances` object laid out as Checkout.com's samples lay it out."""
    open_to_capture = 0 if capture_closed or voided else authorized - captured
    return {
        "total_authorized": authorized,
        "total_voided": voided,
        "available_to_void": authorized if captured == 0 and not voided else 0,
        "total_captured": captured,
        "available_to_capture": open_to_capture,
        "total_refunded": refunded,
        "available_to_refund": captured - refunded,
    }
