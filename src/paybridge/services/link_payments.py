"""A payment made through a Payment Link: find its link and mark the link Paid.

The payment arrives by webhooks only (paybridge never saw its create). Checkout.com copies
the link's metadata and reference onto it: the link is found by `paybridge_link_id`, else by
the reference of the one Active link in that currency. A declined try leaves the link Active.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import RowMapping

from paybridge.domain.status import PaymentStatus
from paybridge.mapping.payment_links import LINK_ID_METADATA_KEY
from paybridge.persistence.uow import UnitOfWork

_log = structlog.get_logger(__name__)

SYNC_LINK_TASK = "salesforce.sync_link"


async def enqueue_link_sync(uow: UnitOfWork, link_id: str, *, now: datetime) -> None:
    """Mirror the link's new state into Salesforce (coalesces with a pending sync)."""
    await uow.outbox.enqueue(
        SYNC_LINK_TASK, {"link_id": link_id}, now=now, dedupe_key=f"sync-link:{link_id}"
    )


APPROVED_STATUSES = frozenset(
    {
        PaymentStatus.AUTHORIZED,
        PaymentStatus.CARD_VERIFIED,
        PaymentStatus.PARTIALLY_CAPTURED,
        PaymentStatus.CAPTURED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.VOIDED,
    }
)
"""A payment that was approved at some point: its link received a payment."""


async def _link_of(uow: UnitOfWork, payment: RowMapping) -> RowMapping | None:
    metadata: dict[str, Any] = payment["metadata"] or {}
    record_id = metadata.get(LINK_ID_METADATA_KEY)
    if isinstance(record_id, str):
        return await uow.payment_links.get_by_record_id(record_id)
    reference = payment["reference"]
    if not reference:
        return None
    candidates = [
        link
        for link in await uow.payment_links.active_with_reference(reference)
        if link["currency"] == payment["currency"]
    ]
    # Two Active links for one Order and currency: the reference cannot tell them apart.
    return candidates[0] if len(candidates) == 1 else None


async def settle_link_payment(
    uow: UnitOfWork, payment: RowMapping, status: PaymentStatus, *, now: datetime
) -> None:
    """Inside the webhook's transaction: an approved payment marks its link Paid (once; a
    second approved payment on a Paid link changes nothing) and gives an unlinked payment
    the link's Order."""
    link = await _link_of(uow, payment)
    if link is None:
        return
    if payment["order_id"] is None:
        await uow.payments.update(
            payment["id"], {"order_id": link["order_id"], "account_id": link["account_id"]}
        )
    if status not in APPROVED_STATUSES:
        return
    # The payment's own sync (queued by this event) writes the paid link after the payment.
    # Only an Active link moves: of two approved payments racing, the first one keeps it.
    moved = await uow.payment_links.update_if_active(
        link["id"],
        {
            "status": "Paid",
            "checkout_payment_id": payment["checkout_payment_id"],
            "updated_at": now,
        },
    )
    if not moved:
        return
    _log.info(
        "payment_link.paid",
        checkout_link_id=link["checkout_link_id"],
        checkout_payment_id=payment["checkout_payment_id"],
    )
