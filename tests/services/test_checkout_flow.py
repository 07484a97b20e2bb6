"""One set of rules for what Checkout.com's answer means, whichever call made it: a refusal
the same request would meet again is stored and replayed; anything else gives the key back
for a retry. Payment creation used to store only a 422."""

from __future__ import annotations

import httpx
import pytest

from tests.api.payloads import payment_body
from tests.api.test_actions import act, create
from tests.simulators.checkout import CheckoutSimulator


@pytest.mark.parametrize(("status", "final"), [(400, True), (403, True), (401, False)])
async def test_a_create_refusal_is_final_by_the_shared_rule(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator, status: int, final: bool
) -> None:
    checkout_sim.fail_next, checkout_sim.fail_status = 1, status
    headers = {"Idempotency-Key": f"create-refused-{status}"}
    first = await client.post("/v1/payments", json=payment_body(), headers=headers)
    again = await client.post("/v1/payments", json=payment_body(), headers=headers)

    sent = len(checkout_sim.calls("POST", "/payments"))
    if final:
        assert again.json() == first.json()  # replayed, never sent again
        assert sent == 1
    else:
        assert again.status_code == 201  # the key was given back: the retry went through
        assert sent == 2


@pytest.mark.parametrize(("status", "final"), [(403, True), (401, False)])
async def test_an_action_refusal_is_final_by_the_same_rule(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator, status: int, final: bool
) -> None:
    pid = await create(client, capture=False)
    checkout_sim.fail_next, checkout_sim.fail_status = 1, status
    first = await act(client, pid, "captures", {"amount": 40}, key=f"capture-{status}")
    again = await act(client, pid, "captures", {"amount": 40}, key=f"capture-{status}")

    actions = (await client.get(f"/v1/payments/{pid}")).json()["actions"]
    (capture,) = [a for a in actions if a["type"] == "capture"]
    if final:
        assert again.json() == first.json()
        assert capture["status"] == "Declined"  # the hold is settled at once
    else:
        assert again.status_code == 202
        assert capture["status"] == "Requested"
