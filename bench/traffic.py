"""The requests the benchmarks send, built whole (bytes on the wire) before any timing starts.

Webhooks are Checkout.com `payment_approved` events, each for a new payment (so every one is
stored and, with Salesforce configured, written there); payments are `POST /v1/payments`
bodies as Salesforce sends them, each with its own Idempotency-Key and order number.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from paybridge.sandbox.requests import payment_body

WEBHOOK_PATH = "/v1/webhooks/checkout"
PAYMENTS_PATH = "/v1/payments"


@dataclass(frozen=True, slots=True)
class Prepared:
    """One request: its tag (what the benchmark pairs results by) and its exact bytes."""

    tag: str
    wire: bytes


def order_id(n: int) -> str:
    """A Salesforce Order Id (18 characters) the Salesforce simulator is seeded with."""
    return f"801{n:012d}AAA"


def payment_id(prefix: str, n: int) -> str:
    """A Checkout.com-shaped payment id (`pay_` + 26 lowercase alphanumerics)."""
    return f"pay_{prefix}{n:0{26 - len(prefix)}d}"


def webhook_event(*, event_id: str, pay_id: str, order: str | None) -> dict[str, Any]:
    """A `payment_approved` delivery in Checkout.com's documented layout."""
    metadata: dict[str, Any] = {"sf_order_id": order} if order else {}
    return {
        "id": event_id,
        "type": "payment_approved",
        "version": "1.0.29",
        "created_on": "2026-11-28T11:56:04.8821546Z",
        "data": {
            "id": pay_id,
            "action_id": "act_" + pay_id[4:],
            "amount": 14990,
            "currency": "EUR",
            "reference": "ORD-" + pay_id[-8:],
            "metadata": metadata,
            "processed_on": "2026-11-28T11:56:04.8821546Z",
            "response_code": "10000",
            "response_summary": "Approved",
            "source": {"id": "src_bench", "type": "card", "last_4": "4242", "scheme": "Visa"},
        },
        "_links": {"self": {"href": "https://api.sandbox.checkout.com/workflows/events/x"}},
    }


def _http(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def webhooks(spec: dict[str, Any], host: str) -> list[Prepared]:
    """Signed deliveries `start … start+count-1`; `orders` links each to a seeded Order."""
    key = str(spec["signing_key"]).encode()
    prefix, start, count = str(spec["prefix"]), int(spec["start"]), int(spec["count"])
    path = str(spec.get("path", WEBHOOK_PATH))
    prepared = []
    for n in range(start, start + count):
        pay = payment_id(prefix, n)
        order = order_id(n) if spec.get("orders") else None
        raw = json.dumps(webhook_event(event_id=f"evt_{prefix}_{n}", pay_id=pay, order=order))
        body = raw.encode()
        signature = hmac.new(key, body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "Cko-Signature": signature}
        prepared.append(Prepared(tag=pay, wire=_http("POST", path, host, headers, body)))
    return prepared


def payments(spec: dict[str, Any], host: str) -> list[Prepared]:
    """`POST /v1/payments` with a fresh Idempotency-Key and order number per request."""
    prefix, start, count = str(spec["prefix"]), int(spec["start"]), int(spec["count"])
    prepared = []
    for n in range(start, start + count):
        body = payment_body()
        body["order"]["OrderNumber"] = f"{prefix}{n:08d}"
        headers = {
            "Content-Type": "application/json",
            "X-API-Key": str(spec["api_key"]),
            "Idempotency-Key": f"bench-{prefix}-{n:010d}",
        }
        wire = _http("POST", PAYMENTS_PATH, host, headers, json.dumps(body).encode())
        prepared.append(Prepared(tag=f"{prefix}{n:08d}", wire=wire))
    return prepared


BUILDERS = {"webhook": webhooks, "payment": payments}
