"""The webhook inbox's intake statement on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paybridge.container import Container
from paybridge.persistence.repositories.outbox import outbox_row

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DELIVERY = {
    "id": "evt-row-1",
    "source": "checkout",
    "event_id": "evt_1",
    "type": "payment_approved",
    "subject_id": "pay_1",
    "raw_body": b"{}",
    "signature_verified": True,
    "status": "received",
    "error": None,
    "occurred_at": NOW,
    "received_at": NOW,
    "handled_at": None,
}


async def test_the_intake_statement_refuses_to_run_inside_a_transaction(
    container: Container,
) -> None:
    """It goes past SQLAlchemy: inside a transaction, a rollback would not undo it."""
    task = outbox_row("webhooks.process", {"event_row_id": "evt-row-1"}, now=NOW)
    async with container.uow() as uow:
        with pytest.raises(RuntimeError, match="single_statement"):
            await uow.events.insert_with_task(DELIVERY, task)

    async with container.uow().single_statement() as uow:
        assert await uow.events.insert_with_task(DELIVERY, task)
        assert not await uow.events.insert_with_task(DELIVERY, task)  # the same delivery
        await uow.commit()
    async with container.uow() as uow:
        assert (await uow.outbox.counts_by_status()) == {"pending": 1}
