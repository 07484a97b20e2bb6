"""A payment paybridge never created, as the row it starts from (pure): from a webhook's seed,
or from `GET /payments/{id}` when the gateway adapter acts on it first.

Order Management's authorizations are usually made by the storefront (a B2C Commerce
cartridge), not through paybridge: the first paybridge hears of one may be the gateway
adapter's capture. Its details say what a webhook's seed says (reference, amount, currency,
the Salesforce ids in metadata, the source); its actions are folded like webhooks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paybridge.adapters.checkout.models import PaymentDetails
from paybridge.domain.ids import new_id
from paybridge.mapping.checkout_events import PaymentSeed


def seed_row(seed: PaymentSeed, *, now: datetime) -> dict[str, Any]:
    """The payments row of a seed: Pending until its facts are folded in."""
    return {
        "id": seed.record_id or new_id(),
        "checkout_payment_id": seed.checkout_payment_id,
        "order_id": seed.order_id,
        "account_id": seed.account_id,
        "reference": seed.reference,
        "currency": seed.currency,
        "amount_minor": seed.amount_minor,
        "status": "Pending",
        "payment_method": seed.payment_method,
        "card_last4": seed.card_last4,
        "market": seed.metadata.get("market"),
        "metadata": seed.metadata,
        "created_at": now,
        "updated_at": now,
    }


def seed_from_details(details: PaymentDetails) -> PaymentSeed | None:
    """None for what is not a Checkout.com payment (`pay_…`)."""
    if not details.id.startswith("pay_"):
        return None
    metadata = {
        key: value
        for key, value in (details.metadata or {}).items()
        if isinstance(value, str | int | float | bool)
    }

    def meta(key: str) -> str | None:
        value = metadata.get(key)
        return value if isinstance(value, str) else None

    source = details.source
    return PaymentSeed(
        checkout_payment_id=details.id,
        reference=details.reference[:50] if details.reference else None,
        amount_minor=details.amount,
        currency=details.currency.upper()[:3],
        order_id=meta("sf_order_id"),
        account_id=meta("sf_account_id"),
        record_id=meta("paybridge_payment_id"),
        metadata=metadata,
        card_last4=source.last4[:4] if source and source.last4 else None,
        payment_method=(source.type if source else None) or details.payment_type,
    )
