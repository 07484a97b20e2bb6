"""Dispute events: fetched, folded under the lattice, linked to payments, in any order."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from structlog.testing import capture_logs

from paybridge.container import Container
from paybridge.persistence.tables import disputes, inbound_events, integration_logs, outbox
from paybridge.services.dispute_fold import SYNC_DISPUTE_TASK
from paybridge.worker.tasks import build_worker
from tests.simulators.checkout import CheckoutSimulator
from tests.webhook_events import dispute_event, event, signed

URL = "/v1/webhooks/checkout"


async def deliver(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    raw, headers = signed(body)
    response = await client.post(URL, content=raw, headers=headers)
    assert response.status_code == 200, response.text


async def get_json(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def captured_payment(client: httpx.AsyncClient, container: Container, pid: str) -> None:
    """A captured payment of 149.90 EUR, reference 00000100, known from its webhooks."""
    await deliver(client, event("payment_approved", pid, action_id=f"act_auth_{pid}"))
    await deliver(client, event("payment_captured", pid, action_id=f"act_cap_{pid}"))
    await build_worker(container).drain()


async def event_statuses(container: Container) -> set[str]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(select(inbound_events.c.status))
        return {str(status) for (status,) in rows}


async def test_a_dispute_is_fetched_linked_and_shown_on_its_payment(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = "pay_disputed00000000000000001"
    await captured_payment(client, container, pid)
    before = await get_json(client, f"/v1/payments/{pid}")
    dsp = checkout_sim.add_dispute(payment_id=pid, amount=14990)

    await deliver(client, dispute_event("dispute_evidence_required", dsp, payment_id=pid))
    await build_worker(container).drain()

    assert checkout_sim.calls("GET", f"/disputes/{dsp}")  # the resource was fetched
    payment = await get_json(client, f"/v1/payments/{pid}")
    assert payment["disputed"] is True
    assert payment["disputes"] == [
        {
            "dispute_id": dsp,
            "status": "evidence_required",
            "category": "product_service_not_received",
            "amount": "149.90",
            "evidence_required_by": "2026-12-12T00:00:00Z",
        }
    ]
    assert payment["amounts"]["lost_in_disputes"] == "0.00"
    assert payment["salesforce"]["version"] > before["salesforce"]["version"]

    dispute = await get_json(client, f"/v1/disputes/{dsp}")
    assert dispute["payment_known"] is True
    assert dispute["payment_id"] == pid
    assert dispute["payment_reference"] == "00000100"  # only the event carries it
    assert dispute["relevant_evidence"] == ["proof_of_delivery_or_service", "invoice_or_receipt"]
    listed = await get_json(client, f"/v1/disputes?payment_id={pid}")
    assert [d["dispute_id"] for d in listed["disputes"]] == [dsp]

    checkout_sim.set_dispute_status(dsp, "lost", at="2026-12-20T10:00:00Z")
    await deliver(client, dispute_event("dispute_lost", dsp, payment_id=pid))
    await build_worker(container).drain()

    payment = await get_json(client, f"/v1/payments/{pid}")
    assert payment["amounts"]["lost_in_disputes"] == "149.90"
    assert (await get_json(client, f"/v1/disputes/{dsp}"))["lost_amount"] == "149.90"


async def test_a_dispute_on_an_unknown_payment_waits_for_it(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = "pay_madeelsewhere000000000001"
    dsp = checkout_sim.add_dispute(payment_id=pid, amount=2500, currency="GBP")

    await deliver(client, dispute_event("dispute_evidence_required", dsp, payment_id=pid))
    await build_worker(container).drain()

    dispute = await get_json(client, f"/v1/disputes/{dsp}")
    assert dispute["payment_known"] is False
    assert (dispute["payment_id"], dispute["amount"], dispute["currency"]) == (pid, "25.00", "GBP")
    listed = await get_json(client, f"/v1/disputes?payment_id={pid}")
    assert [d["dispute_id"] for d in listed["disputes"]] == [dsp]
    async with container.engine.connect() as conn:
        tasks = (await conn.execute(select(outbox).where(outbox.c.kind == SYNC_DISPUTE_TASK))).all()
    assert [t.payload for t in tasks] == [{"dispute_id": dsp}]  # its own Case sync

    await deliver(client, event("payment_captured", pid, action_id="act_late", currency="GBP"))
    await build_worker(container).drain()

    payment = await get_json(client, f"/v1/payments/{pid}")
    assert payment["disputed"] is True
    assert [d["dispute_id"] for d in payment["disputes"]] == [dsp]
    assert (await get_json(client, f"/v1/disputes/{dsp}"))["payment_known"] is True


async def test_a_dispute_naming_only_the_reference_is_linked_by_it(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = "pay_byreference00000000000001"
    await captured_payment(client, container, pid)
    dsp = checkout_sim.add_dispute(payment_id=None)

    await deliver(
        client,
        dispute_event("dispute_evidence_required", dsp, payment_id=None, reference="00000100"),
    )
    await build_worker(container).drain()

    assert [
        d["dispute_id"] for d in (await get_json(client, f"/v1/payments/{pid}"))["disputes"]
    ] == [dsp]


async def test_without_the_resource_the_event_data_is_used(
    client: httpx.AsyncClient, container: Container
) -> None:
    pid = "pay_noresource000000000000001"
    await captured_payment(client, container, pid)
    dsp = "dsp_unknowntocheckout00001"  # GET answers 404 (another entity's dispute, say)

    await deliver(client, dispute_event("dispute_lost", dsp, payment_id=pid, amount=5000))
    await build_worker(container).drain()

    dispute = await get_json(client, f"/v1/disputes/{dsp}")
    assert (dispute["status"], dispute["amount"], dispute["payment_known"]) == (
        "lost",
        "50.00",
        True,
    )
    assert "handled" in await event_statuses(container)


async def test_checkout_unavailable_retries_the_event(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    dsp = checkout_sim.add_dispute(payment_id="pay_x00000000000000000000001")
    await deliver(client, dispute_event("dispute_evidence_required", dsp))
    checkout_sim.fail_next = 3  # every attempt of the GET

    await build_worker(container).drain()

    assert (await client.get(f"/v1/disputes/{dsp}")).status_code == 404
    assert await event_statuses(container) == {"received"}
    async with container.engine.connect() as conn:
        task = (await conn.execute(select(outbox))).one()
    assert task.status == "pending"
    assert "unavailable" in task.last_error


async def test_an_impossible_transition_is_logged_and_acknowledged(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = "pay_contradiction000000000001"
    await captured_payment(client, container, pid)
    dsp = checkout_sim.add_dispute(payment_id=pid, status="won")
    await deliver(client, dispute_event("dispute_won", dsp, payment_id=pid))
    await build_worker(container).drain()

    checkout_sim.set_dispute_status(dsp, "lost")
    await deliver(client, dispute_event("dispute_lost", dsp, payment_id=pid))
    with capture_logs() as logs:
        await build_worker(container).drain()

    refused = [line for line in logs if line["event"] == "dispute.transition.refused"]
    assert refused
    assert (refused[0]["stored"], refused[0]["incoming"]) == ("won", "lost")
    assert (await get_json(client, f"/v1/disputes/{dsp}"))["status"] == "won"
    assert await event_statuses(container) == {"handled"}
    async with container.engine.connect() as conn:
        dead = (await conn.execute(select(outbox).where(outbox.c.status == "dead"))).all()
    assert dead == []


async def test_an_unidentifiable_dispute_event_is_handled_and_logged(
    client: httpx.AsyncClient, container: Container
) -> None:
    await deliver(client, {"id": "evt_nodsp", "type": "dispute_won", "data": {"id": "x"}})
    await build_worker(container).drain()

    assert await event_statuses(container) == {"handled"}
    async with container.engine.connect() as conn:
        codes = (await conn.execute(select(integration_logs.c.error_code))).scalars().all()
    assert codes == ["dispute_unidentified"]


# --- property: any order, any duplicates, same dispute ------------------------------------

LIFECYCLES = {
    "won": ["dispute_evidence_required", "dispute_evidence_submitted", "dispute_won"],
    "accepted": ["dispute_evidence_required", "dispute_accepted"],
    "expired": ["dispute_evidence_required", "dispute_expired"],
    "arbitration_lost": [
        "dispute_evidence_required",
        "dispute_evidence_submitted",
        "dispute_lost",
        "dispute_arbitration_evidence_submitted",
        "dispute_arbitration_sent_to_scheme",
        "dispute_arbitration_lost",
    ],
}
EVENT_STATUS = {
    "dispute_evidence_required": "evidence_required",
    "dispute_evidence_submitted": "evidence_under_review",
    "dispute_won": "won",
    "dispute_accepted": "accepted",
    "dispute_expired": "expired",
    "dispute_lost": "lost",
    "dispute_arbitration_evidence_submitted": "arb_evidence_submitted",
    "dispute_arbitration_sent_to_scheme": "arbitration_under_review",
    "dispute_arbitration_lost": "arbitration_lost",
}
_run = iter(range(1_000_000))


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(sorted(LIFECYCLES)),
    data=st.data(),
    fetched=st.booleans(),
)
async def test_any_order_with_duplicates_converges(
    client: httpx.AsyncClient,
    container: Container,
    checkout_sim: CheckoutSimulator,
    path: str,
    data: st.DataObject,
    fetched: bool,
) -> None:
    """Each event is processed while Checkout.com's resource shows that event's status (a GET
    racing the next change), or with no resource at all (the event type decides)."""
    events = LIFECYCLES[path]
    order = data.draw(st.permutations(range(len(events))))
    duplicates = data.draw(st.lists(st.integers(0, len(events) - 1), max_size=3))
    n = next(_run)
    pid = f"pay_prop{n:021d}"
    dsp = f"dsp_prop{n:018d}"
    await captured_payment(client, container, pid)
    for index in [*order, *duplicates]:
        kind = events[index]
        if fetched:
            checkout_sim.add_dispute(payment_id=pid, status=EVENT_STATUS[kind], dispute_id=dsp)
        await deliver(
            client,
            dispute_event(kind, dsp, payment_id=pid, event_id=f"evt_{dsp}_{index}"),
        )
        await build_worker(container).drain()

    dispute = await get_json(client, f"/v1/disputes/{dsp}")
    assert dispute["status"] == EVENT_STATUS[events[-1]]
    lost = path in {"accepted", "expired", "arbitration_lost"}
    assert dispute["lost_amount"] == ("149.90" if lost else "0.00")
    payment = await get_json(client, f"/v1/payments/{pid}")
    assert payment["disputed"] is True
    assert [d["status"] for d in payment["disputes"]] == [EVENT_STATUS[events[-1]]]
    async with container.engine.connect() as conn:
        rows = (await conn.execute(select(disputes).where(disputes.c.id == dsp))).all()
    assert len(rows) == 1


async def test_two_workers_on_one_new_dispute_create_one_row(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = "pay_racingdispute000000000001"
    await captured_payment(client, container, pid)
    dsp = checkout_sim.add_dispute(payment_id=pid, status="lost")
    for kind in ("dispute_evidence_required", "dispute_evidence_submitted", "dispute_lost"):
        await deliver(client, dispute_event(kind, dsp, payment_id=pid))

    first, second = build_worker(container, worker_id="w1"), build_worker(container, worker_id="w2")
    await asyncio.gather(first.drain(), second.drain())

    assert await event_statuses(container) == {"handled"}
    dispute = await get_json(client, f"/v1/disputes/{dsp}")
    assert dispute["status"] == "lost"
    async with container.engine.connect() as conn:
        assert len((await conn.execute(select(disputes))).all()) == 1
