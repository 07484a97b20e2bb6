"""Capture, void and refund through the API: rules, idempotency, races, request shapes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from paybridge.container import Container
from paybridge.domain.facts import ActionFact
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.services.ledger import apply_facts
from paybridge.worker.tasks import build_worker
from tests.api.payloads import payment_body
from tests.checkout_spec import validate_against_spec
from tests.conftest import ShiftedClock
from tests.simulators.checkout import CheckoutSimulator, LosingResponses

_counter = iter(range(1_000_000))


def new_key() -> str:
    return f"key-action-{next(_counter):08d}"


async def create(client: httpx.AsyncClient, **overrides: Any) -> str:
    response = await client.post(
        "/v1/payments", json=payment_body(**overrides), headers={"Idempotency-Key": new_key()}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["payment_id"])


async def act(
    client: httpx.AsyncClient,
    payment_id: str,
    kind: str,
    body: dict[str, Any],
    key: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"/v1/payments/{payment_id}/{kind}",
        json=body,
        headers={"Idempotency-Key": key or new_key()},
    )


async def confirm(container: Container, payment_id: str, action_id: str) -> None:
    """What the payment_captured / payment_refunded webhook does to the ledger."""
    async with container.uow() as uow:
        payment = await uow.payments.get_by_checkout_id(payment_id, for_update=True)
        action = await uow.payments.get_action(action_id)
        assert payment is not None
        assert action is not None
        await apply_facts(
            uow,
            payment,
            [
                ActionFact(
                    action_key=action_id,
                    type=ActionType(action["type"]),
                    status=ActionStatus.SUCCEEDED,
                    amount_minor=action["amount_minor"],
                    source="webhook",
                )
            ],
            now=container.clock(),
        )
        await uow.commit()


async def test_partial_captures_then_final_capture(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client)

    first = await act(client, pid, "captures", {"amount": 50.00, "final": False})
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["type"] == "capture"
    assert body["status"] == "Requested"
    assert body["amount"] == "50.00"
    assert body["payment"]["amounts"]["available_to_capture"] == "99.90"
    await confirm(container, pid, body["action_id"])

    second = await act(client, pid, "captures", {"amount": "40.00", "final": False})
    await confirm(container, pid, second.json()["action_id"])
    rest = await act(client, pid, "captures", {})
    assert rest.status_code == 202
    assert rest.json()["amount"] == "59.90"
    await confirm(container, pid, rest.json()["action_id"])

    payment = (await client.get(f"/v1/payments/{pid}")).json()
    assert payment["status"] == "Captured"
    assert payment["amounts"]["captured"] == "149.90"
    assert payment["amounts"]["available_to_capture"] == "0.00"
    sent = checkout_sim.calls("POST", f"/payments/{pid}/captures")
    # "The rest" is sent as the reserved figure: left out, Checkout.com would capture "the
    # full payment amount" (nas-openapi.json CaptureRequest.amount), not what is left.
    assert [b.get("amount") for b in sent] == [5000, 4000, 5990]
    assert [b["capture_type"] for b in sent] == ["NonFinal", "NonFinal", "Final"]
    for request in sent:
        validate_against_spec(request, "CaptureRequest")

    again = await act(client, pid, "captures", {"amount": 1})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"


async def test_capture_above_capturable_is_refused_before_checkout(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client)
    response = await act(client, pid, "captures", {"amount": 149.91})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "amount_exceeds_capturable"
    assert error["details"][0]["field"] == "amount"
    assert checkout_sim.calls("POST", f"/payments/{pid}/captures") == []


async def test_amount_with_too_many_decimals_is_named(client: httpx.AsyncClient) -> None:
    pid = await create(client)
    response = await act(client, pid, "captures", {"amount": 10.001})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0] == {
        "field": "amount",
        "code": "invalid_amount_precision",
        "message": "EUR amounts have at most 2 decimal places",
    }


async def test_refunds_up_to_the_limit_and_one_cent_past(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client, capture=True)

    partial = await act(client, pid, "refunds", {"amount": 100.00, "reason": "damaged"})
    assert partial.status_code == 202
    assert partial.json()["payment"]["amounts"]["available_to_refund"] == "49.90"
    too_much = await act(client, pid, "refunds", {"amount": 49.91})
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "amount_exceeds_refundable"
    rest = await act(client, pid, "refunds", {"amount": 49.90})
    assert rest.status_code == 202
    await confirm(container, pid, partial.json()["action_id"])
    await confirm(container, pid, rest.json()["action_id"])

    payment = (await client.get(f"/v1/payments/{pid}")).json()
    assert payment["status"] == "Refunded"
    assert payment["amounts"]["refunded"] == "149.90"
    sent = checkout_sim.calls("POST", f"/payments/{pid}/refunds")
    assert sent[0] == {"amount": 10000, "metadata": {"reason": "damaged"}}
    for request in sent:
        validate_against_spec(request, "RefundRequest")


async def test_full_refund_without_amount(client: httpx.AsyncClient, container: Container) -> None:
    pid = await create(client, capture=True)
    response = await act(client, pid, "refunds", {})

    assert response.status_code == 202
    assert response.json()["amount"] == "149.90"
    await confirm(container, pid, response.json()["action_id"])
    assert (await client.get(f"/v1/payments/{pid}")).json()["status"] == "Refunded"


async def test_refund_before_capture_is_invalid_state(client: httpx.AsyncClient) -> None:
    pid = await create(client)
    response = await act(client, pid, "refunds", {"amount": 1})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


async def test_void_before_capture(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client)
    response = await act(client, pid, "voids", {"reference": "CANCEL-1"})

    assert response.status_code == 202
    assert response.json()["type"] == "void"
    validate_against_spec(checkout_sim.calls("POST", f"/payments/{pid}/voids")[0], "VoidRequest")
    await confirm(container, pid, response.json()["action_id"])
    payment = (await client.get(f"/v1/payments/{pid}")).json()
    assert payment["status"] == "Voided"

    capture = await act(client, pid, "captures", {"amount": 10})
    assert capture.status_code == 409
    assert capture.json()["error"]["code"] == "invalid_state"


async def test_void_after_capture_is_invalid_state(client: httpx.AsyncClient) -> None:
    pid = await create(client, capture=True)
    response = await act(client, pid, "voids", {})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


async def test_void_with_a_capture_in_flight_is_invalid_state(client: httpx.AsyncClient) -> None:
    pid = await create(client)
    await act(client, pid, "captures", {"amount": 10})
    response = await act(client, pid, "voids", {})

    assert response.status_code == 409


async def test_capture_replay_calls_checkout_once(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client)
    first = await act(client, pid, "captures", {"amount": 10}, key="capture-key-1")
    second = await act(client, pid, "captures", {"amount": 10}, key="capture-key-1")

    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert len(checkout_sim.calls("POST", f"/payments/{pid}/captures")) == 1


async def test_same_key_different_amount_is_refused(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client)
    await act(client, pid, "captures", {"amount": 10}, key="capture-key-2")
    response = await act(client, pid, "captures", {"amount": 11}, key="capture-key-2")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len(checkout_sim.calls("POST", f"/payments/{pid}/captures")) == 1


async def test_timeout_then_retry_makes_one_action(
    client: httpx.AsyncClient,
    checkout_sim: CheckoutSimulator,
    lossy_transport: LosingResponses,
) -> None:
    pid = await create(client)
    lossy_transport.lose_next = 3

    lost = await act(client, pid, "captures", {"amount": 20}, key="capture-key-3")
    assert lost.status_code == 503
    retried = await act(client, pid, "captures", {"amount": 20}, key="capture-key-3")

    assert retried.status_code == 202, retried.text
    assert len(checkout_sim.payments[pid].actions) == 1
    payment = retried.json()["payment"]
    assert [a["type"] for a in payment["actions"]] == ["authorization", "capture"]
    assert payment["amounts"]["available_to_capture"] == "129.90"


async def test_checkout_refusal_settles_the_hold(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client)
    checkout_sim.payments[pid].status = "Voided"  # voided in the dashboard, unknown to us

    response = await act(client, pid, "captures", {"amount": 20})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "upstream_action_not_allowed"
    assert error["checkout_request_id"]
    payment = (await client.get(f"/v1/payments/{pid}")).json()
    assert payment["actions"][-1]["status"] == "Declined"
    assert payment["amounts"]["available_to_capture"] == "149.90"


@pytest.mark.postgres
async def test_racing_partial_refunds_never_exceed_the_captured_amount(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client, capture=True)

    responses = await asyncio.gather(
        *(act(client, pid, "refunds", {"amount": 60.00}) for _ in range(4))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202, 202, 422, 422]
    sent = checkout_sim.calls("POST", f"/payments/{pid}/refunds")
    assert sum(b["amount"] for b in sent) == 12000


async def test_unknown_payment_is_404(client: httpx.AsyncClient) -> None:
    response = await act(client, "pay_unknownunknownunknown00000", "captures", {})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_not_found"


async def test_missing_idempotency_key_is_400(client: httpx.AsyncClient) -> None:
    pid = await create(client)
    response = await client.post(f"/v1/payments/{pid}/captures", json={})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_missing"


async def test_worker_finishes_an_action_whose_caller_never_retried(
    client: httpx.AsyncClient,
    container: Container,
    clock: ShiftedClock,
    checkout_sim: CheckoutSimulator,
    lossy_transport: LosingResponses,
) -> None:
    pid = await create(client)
    lossy_transport.lose_next = 3
    lost = await act(client, pid, "captures", {"amount": 20}, key="capture-key-lost")
    assert lost.status_code == 503

    assert await build_worker(container).drain() == 0  # not before the lock lapses
    clock.advance(36)
    assert await build_worker(container).drain() == 2  # this capture's and the create's

    payment = (await client.get(f"/v1/payments/{pid}")).json()
    captures = [a for a in payment["actions"] if a["type"] == "capture"]
    assert len(captures) == 1
    assert captures[0]["action_id"].startswith("act_")
    assert captures[0]["status"] == "Requested"
    assert len(checkout_sim.payments[pid].actions) == 1  # replayed, not repeated
    replay = await act(client, pid, "captures", {"amount": 20}, key="capture-key-lost")
    assert replay.status_code == 202
    assert replay.json()["action_id"] == captures[0]["action_id"]
