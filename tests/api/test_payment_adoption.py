"""A capture, refund or void of a `pay_…` paybridge never saw (a storefront's authorization in
Order Management) adopts the payment from Checkout.com first (DESIGN §5 `commerce`)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from paybridge.container import Container
from paybridge.persistence.tables import integration_logs
from tests.gateway_adapter import storefront_authorization
from tests.simulators.checkout import CheckoutSimulator


def _storefront_payment(checkout_sim: CheckoutSimulator) -> str:
    metadata = {"sf_order_id": "8015g00000AbCdEAAV", "sf_account_id": "0015g00000XyZaBAAV"}
    return storefront_authorization(checkout_sim, reference="SFCC-00000300", metadata=metadata)


async def test_a_capture_adopts_the_payment_then_captures_it(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    pid = _storefront_payment(checkout_sim)

    response = await client.post(
        f"/v1/payments/{pid}/captures",
        json={"amount": 50},
        headers={"Idempotency-Key": "adopt-key-0001"},
    )

    assert response.status_code == 202, response.text
    payment = response.json()["payment"]
    assert (payment["order_id"], payment["reference"], payment["currency"]) == (
        "8015g00000AbCdEAAV",
        "SFCC-00000300",
        "EUR",
    )
    assert payment["amounts"]["authorized"] == "149.90"
    assert [a["type"] for a in payment["actions"]] == ["authorization", "capture"]
    gets = [path for method, path, _, _ in checkout_sim.requests if method == "GET"]
    assert gets == [f"/payments/{pid}", f"/payments/{pid}/actions"]


async def test_a_payment_checkout_does_not_know_either_is_404(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    response = await client.post(
        "/v1/payments/pay_unknown0000000000000000000/voids",
        json={},
        headers={"Idempotency-Key": "adopt-key-0002"},
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_not_found"


async def test_checkout_away_during_adoption_is_a_retryable_error_and_a_log(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    pid = _storefront_payment(checkout_sim)
    checkout_sim.fail_next = 3

    away = await client.post(
        f"/v1/payments/{pid}/captures", json={}, headers={"Idempotency-Key": "adopt-key-0003"}
    )
    again = await client.post(
        f"/v1/payments/{pid}/captures", json={}, headers={"Idempotency-Key": "adopt-key-0003"}
    )

    assert away.status_code in {502, 503}, away.text
    assert again.status_code == 202, again.text
    async with container.engine.connect() as conn:
        query = select(integration_logs).where(integration_logs.c.operation == "payment.adopt")
        rows = (await conn.execute(query)).mappings().all()
    assert sorted(row["level"] for row in rows) == ["ERROR", "INFO"]
