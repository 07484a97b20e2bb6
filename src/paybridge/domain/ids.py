"""Identifiers paybridge mints itself (record ids, derived Checkout.com idempotency keys)."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def checkout_idempotency_key(record_id: str, operation: str) -> str:
    """Stable per (our key record, operation): every retry or recovery sends the same key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"paybridge:{operation}:{record_id}"))
