"""A claimed batch of webhook events is applied in a few transactions side by side: a
payment's events together, in order, in one of them (the second sees what the first
created), and a failing event retried alone while its neighbours are applied."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from paybridge.container import Container
from paybridge.domain.facts import ActionFact
from paybridge.mapping.checkout_events import EventEnvelope, to_facts
from paybridge.services import webhooks
from paybridge.services.tasks import Task, together_by_subject
from paybridge.services.webhooks import PROCESS_TASK
from paybridge.worker.tasks import build_worker
from tests.conftest import ShiftedClock, fresh_container
from tests.salesforce_env import outbox_rows
from tests.services.test_webhook_processing import deliver, state
from tests.simulators.checkout import LosingResponses
from tests.webhook_events import event


def task(task_id: int) -> Task:
    return Task(id=task_id, kind=PROCESS_TASK, payload={}, attempts=1)


def test_a_subjects_tasks_stay_together_and_each_group_keeps_the_batch_order() -> None:
    subjects = {1: "pay_b", 2: "pay_a", 3: "pay_b", 4: None, 5: "pay_c", 6: "pay_a", 7: None}
    groups = together_by_subject(
        [task(n) for n in subjects], subject_of=lambda t: subjects[t.id], groups=3
    )

    assert len(groups) == 3
    assert sorted(t.id for group in groups for t in group) == list(subjects)
    for group in groups:
        ids = [t.id for t in group]
        assert ids == sorted(ids)  # as stored: of two payments on one link, the first wins
    homes = {subjects[t.id]: n for n, group in enumerate(groups) for t in group}
    assert [t.id for t in groups[homes["pay_a"]] if subjects[t.id] == "pay_a"] == [2, 6]
    assert [t.id for t in groups[homes["pay_b"]] if subjects[t.id] == "pay_b"] == [1, 3]
    assert together_by_subject([task(1)], subject_of=lambda t: None, groups=8) == [[task(1)]]


@pytest.fixture
async def container(
    pg_url: str, lossy_transport: LosingResponses, clock: ShiftedClock
) -> AsyncIterator[Container]:
    """A worker that applies a whole batch in ONE transaction (concurrency 1)."""
    worker = {"embedded": False, "concurrency": 1}
    async with fresh_container(pg_url, lossy_transport, clock, worker=worker) as built:
        yield built


async def test_one_transaction_applies_several_events_of_each_payment_of_a_batch(
    client: httpx.AsyncClient, container: Container
) -> None:
    for pid in ("pay_batch_b", "pay_batch_a"):
        await deliver(client, event("payment_approved", pid, action_id=f"act_{pid}_auth"))
    await deliver(
        client, event("payment_captured", "pay_batch_a", action_id="act_batch_a_c", amount=14990)
    )
    await deliver(client, event("payment_voided", "pay_batch_b", action_id="act_batch_b_void"))

    assert await build_worker(container).run_once() == 4  # one claim, one transaction

    assert (await state(client, "pay_batch_a"))["status"] == "Captured"
    assert (await state(client, "pay_batch_b"))["status"] == "Voided"
    tasks = await outbox_rows(container, PROCESS_TASK)
    assert {row["status"] for row in tasks} == {"done"}


async def test_a_failing_event_is_retried_alone_and_its_neighbours_are_applied(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_for_one(event: EventEnvelope) -> list[ActionFact]:
        if event.subject_id == "pay_batch_bad":
            raise RuntimeError("this event cannot be applied")
        return to_facts(event)

    monkeypatch.setattr(webhooks, "to_facts", failing_for_one)
    for pid in ("pay_batch_1", "pay_batch_bad", "pay_batch_2"):
        await deliver(client, event("payment_approved", pid, action_id=f"act_{pid}"))

    assert await build_worker(container).run_once() == 3

    for pid in ("pay_batch_1", "pay_batch_2"):
        assert (await state(client, pid))["status"] == "Authorized"
    missing = await client.get("/v1/payments/pay_batch_bad")
    assert missing.status_code == 404  # its transaction was rolled back
    rows = await outbox_rows(container, PROCESS_TASK)
    assert sorted(row["status"] for row in rows) == ["done", "done", "pending"]
    [failed] = [row for row in rows if row["status"] == "pending"]
    assert failed["attempts"] == 1
    assert "this event cannot be applied" in failed["last_error"]
