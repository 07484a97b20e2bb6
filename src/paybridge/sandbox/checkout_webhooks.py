"""Webhooks of the simulated Checkout.com: signed like the real ones, delivered in the background.

`emit` never waits: events are queued and a background task owned by the sender posts them
to paybridge's `POST /v1/webhooks/checkout`, with the knobs the real service's behaviour
calls for — a delay, duplicates, reordering — and bounded retries when paybridge does not
answer 2xx. `aclose` cancels whatever is still in flight.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from paybridge.adapters.checkout.signatures import compute_signature

_log = structlog.get_logger(__name__)
_ALPHABET = string.ascii_lowercase + string.digits
WEBHOOK_PATH = "/v1/webhooks/checkout"


def now_text() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def event_id() -> str:
    return "evt_" + "".join(secrets.choice(_ALPHABET) for _ in range(26))


@dataclass
class Delivery:
    """One event as the sender saw it: how often it was tried and what paybridge answered."""

    event_id: str
    type: str
    subject_id: str | None
    attempts: int = 0
    http_status: int | None = None
    ack: str | None = None  # paybridge's `status`: accepted | duplicate | ignored | …
    outcome: str = "queued"  # queued | delivered | retrying | failed
    finished_at: float | None = None  # time.monotonic() of the last answer

    def is_recent(self, within_s: float) -> bool:
        return self.finished_at is not None and time.monotonic() - self.finished_at < within_s


@dataclass
class WebhookSender:
    """Knobs: `delay_s` before each batch goes out, `duplicates` extra copies of every event,
    `reorder` (a batch of events emitted together goes out newest first), `max_attempts` and
    `retry_backoff_s` (doubling) for non-2xx answers and transport errors."""

    signature_key: str
    authorization: str | None = None
    delay_s: float = 0.0
    duplicates: int = 0
    reorder: bool = False
    max_attempts: int = 5
    retry_backoff_s: float = 0.5
    deliveries: list[Delivery] = field(default_factory=list)
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    _batch: list[tuple[Delivery, bytes]] = field(default_factory=list, init=False, repr=False)
    _flush: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    def connect(self, client: httpx.AsyncClient) -> None:
        """Where to deliver: a client whose base URL is paybridge (the sender closes it)."""
        self._client = client

    @property
    def connected(self) -> bool:
        return self._client is not None

    def emit(self, event: dict[str, Any]) -> Delivery | None:
        """Queue one event (a no-op until connected). Call it from the running event loop."""
        if self._client is None:
            return None
        data = event.get("data") or {}
        delivery = Delivery(
            event_id=str(event["id"]), type=str(event["type"]), subject_id=data.get("id")
        )
        self.deliveries.append(delivery)
        self._batch.append((delivery, json.dumps(event).encode()))
        if self._flush is None:
            self._flush = self._spawn(self._send_batch())
        return delivery

    def in_flight(self) -> int:
        return len(self._tasks)

    async def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued delivery (retries included) has finished; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                while self._tasks:
                    await asyncio.wait(set(self._tasks))
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        """Cancel what is still in flight (shutdown) and close the client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _send_batch(self) -> None:
        await asyncio.sleep(self.delay_s)  # 0: still lets the triggering request answer first
        batch, self._batch, self._flush = self._batch, [], None
        if self.reorder:
            batch.reverse()
        for delivery, raw in batch:
            for _ in range(1 + self.duplicates):
                if not await self._attempt(delivery, raw):
                    self._spawn(self._retry(delivery, raw))

    async def _retry(self, delivery: Delivery, raw: bytes) -> None:
        while delivery.attempts < self.max_attempts:
            await asyncio.sleep(self.retry_backoff_s * 2 ** (delivery.attempts - 1))
            if await self._attempt(delivery, raw):
                return
        delivery.outcome = "failed"
        _log.warning(
            "sandbox.webhook.failed",
            cko_event_id=delivery.event_id,
            attempts=delivery.attempts,
            http_status=delivery.http_status,
        )

    async def _attempt(self, delivery: Delivery, raw: bytes) -> bool:
        client = self._client
        if client is None:
            return True  # closed meanwhile: nothing more to do
        delivery.attempts += 1
        headers = {
            "Content-Type": "application/json",
            "Cko-Signature": compute_signature(raw, self.signature_key),
        }
        if self.authorization:
            headers["Authorization"] = self.authorization
        try:
            response = await client.post(WEBHOOK_PATH, content=raw, headers=headers)
        except httpx.TransportError as exc:
            delivery.http_status, delivery.outcome = None, "retrying"
            _log.info("sandbox.webhook.unreachable", cko_event_id=delivery.event_id, error=str(exc))
            return delivery.attempts >= self.max_attempts and self._give_up(delivery)
        delivery.http_status = response.status_code
        delivery.finished_at = time.monotonic()
        if response.is_success:
            delivery.outcome = "delivered"
            try:
                delivery.ack = str(response.json().get("status"))
            except ValueError:
                delivery.ack = None
            return True
        delivery.outcome = "retrying"
        return delivery.attempts >= self.max_attempts and self._give_up(delivery)

    @staticmethod
    def _give_up(delivery: Delivery) -> bool:
        delivery.outcome = "failed"
        _log.warning("sandbox.webhook.failed", cko_event_id=delivery.event_id)
        return True


def payment_event(
    event_type: str,
    *,
    payment_id: str,
    amount: int | None,
    currency: str,
    reference: str | None,
    metadata: dict[str, Any],
    source_type: str,
    action_id: str | None = None,
    response_code: str = "10000",
    response_summary: str = "Approved",
) -> dict[str, Any]:
    """A payment event in Checkout.com's documented layout (`data` is the payment)."""
    now = now_text()
    data: dict[str, Any] = {
        "id": payment_id,
        "currency": currency,
        "reference": reference,
        "metadata": metadata,
        "processed_on": now,
        "response_code": response_code,
        "response_summary": response_summary,
        "source": {"type": "card", "last_4": "4242", "scheme": "Visa"}
        if source_type in {"token", "id"}
        else {"type": source_type},
    }
    if amount is not None:
        data["amount"] = amount
    if action_id is not None:
        data["action_id"] = action_id
    return {
        "id": event_id(),
        "type": event_type,
        "version": "1.0.33",
        "created_on": now,
        "data": data,
    }


def dispute_event(
    event_type: str, dispute: dict[str, Any], *, reference: str | None
) -> dict[str, Any]:
    """A `dispute_*` event: flat data naming the dispute and the payment it concerns."""
    payment = dispute.get("payment") or {}
    data = {
        "id": dispute["id"],
        "category": dispute["category"],
        "amount": dispute["amount"],
        "currency": dispute["currency"],
        "reason_code": dispute["reason_code"],
        "evidence_required_by": dispute["evidence_required_by"],
        "date": dispute["received_on"],
        "payment_id": payment.get("id"),
        "payment_action_id": payment.get("action_id"),
        "payment_reference": reference,
    }
    return {
        "id": event_id(),
        "type": event_type,
        "version": "1.0.0",
        "timestamp": now_text(),
        "data": {k: v for k, v in data.items() if v is not None},
    }
