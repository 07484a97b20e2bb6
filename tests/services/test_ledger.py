"""The ledger merges observations of one action however they are keyed and ordered."""

from __future__ import annotations

import httpx

from paybridge.container import Container
from paybridge.domain.facts import ActionFact
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.services.ledger import apply_facts
from paybridge.worker.tasks import build_worker
from tests.api.payloads import payment_body
from tests.webhook_events import event, signed


async def test_auto_capture_then_its_webhook_is_one_capture(
    client: httpx.AsyncClient, container: Container
) -> None:
    created = await client.post(
        "/v1/payments", json=payment_body(capture=True), headers={"Idempotency-Key": "key-auto-1"}
    )
    pid = created.json()["payment_id"]
    raw, headers = signed(
        event("payment_captured", pid, action_id="act_autocapture1", amount=14990)
    )
    await client.post("/v1/webhooks/checkout", content=raw, headers=headers)
    await build_worker(container).drain()

    body = (await client.get(f"/v1/payments/{pid}")).json()
    captures = [a for a in body["actions"] if a["type"] == "capture"]
    assert [(a["action_id"], a["status"]) for a in captures] == [("act_autocapture1", "Succeeded")]
    assert body["amounts"]["captured"] == "149.90"
    assert body["amounts"]["authorized"] == "149.90"


async def test_webhook_first_then_the_create_answer_is_one_capture(
    client: httpx.AsyncClient, container: Container
) -> None:
    pid = "pay_webhookovertookcreate0000"
    raw, headers = signed(event("payment_captured", pid, action_id="act_real", amount=5000))
    await client.post("/v1/webhooks/checkout", content=raw, headers=headers)
    await build_worker(container).drain()
    # Before the create answer is recorded, the webhook's data.amount is the amount (not 0).
    assert (await client.get(f"/v1/payments/{pid}")).json()["amount"] == "50.00"

    async with container.uow() as uow:  # what recording the 201 "Captured" answer does
        payment = await uow.payments.get_by_checkout_id(pid, for_update=True)
        assert payment is not None
        await apply_facts(
            uow,
            payment,
            [
                ActionFact(
                    f"{pid}:authorization", ActionType.AUTHORIZATION, ActionStatus.SUCCEEDED, 5000
                ),
                ActionFact(
                    f"{pid}:capture", ActionType.CAPTURE, ActionStatus.SUCCEEDED, 5000, final=True
                ),
            ],
            now=container.clock(),
        )
        await uow.commit()

    body = (await client.get(f"/v1/payments/{pid}")).json()
    # Listed as they happened: the authorization recorded second still opens the timeline.
    assert [(a["action_id"], a["type"]) for a in body["actions"]] == [
        (f"{pid}:authorization", "authorization"),
        ("act_real", "capture"),
    ]
    assert body["status"] == "Captured"
    assert body["amounts"]["captured"] == "50.00"
