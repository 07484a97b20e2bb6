"""Markets through POST /v1/payments: the store or the order picks the channel, the key, the
capture mode and the 3DS policy; refusals are field-named 422s made before any charge."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container
from paybridge.container import Container
from paybridge.mapping.markets_file import MarketsFileError
from paybridge.persistence.tables import idempotency_keys, payments
from tests.api.payloads import payment_body, with_order
from tests.checkout_spec import validate_against_spec
from tests.conftest import make_settings, truncate_all
from tests.simulators.checkout import CheckoutSimulator

NL_CHANNEL = "pc_nlwebchannel00000000000000"
DE_CHANNEL = "pc_dewebchannel00000000000000"
PHONE_CHANNEL = "pc_phonechannel00000000000000"
DE_KEY = "sk_sbox_de_entity_key"

MARKETS = f"""
markets:
  - key: nl-web
    processing_channel_id: {NL_CHANNEL}
    match: {{countries: [NL], currencies: [EUR]}}
    capture: manual
    three_ds: {{policy: above, above: {{EUR: 100.00}}}}
    payment_methods: [token, ideal, paypal]
    success_url: https://shop.example.com/nl/success
    failure_url: https://shop.example.com/nl/failure
    billing_descriptor: {{name: EXAMPLE SHOP NL, city: Amsterdam}}
    metadata: {{business_unit: benelux, settlement_entity: example-bv}}
  - key: de-web
    processing_channel_id: {DE_CHANNEL}
    secret_key_env: PAYBRIDGE_MARKET_SECRET_DE
    match: {{countries: [DE], currencies: [EUR]}}
    capture: auto
    payment_methods: [token, sepa]
  - key: phone
    processing_channel_id: {PHONE_CHANNEL}
    capture: manual
    capture_overridable: true
    payment_methods: [token, instrument]
"""

SEPA = {
    "type": "sepa",
    "iban": "DE89370400440532013000",
    "bic": "COBADEFFXXX",
    "mandate_id": "MANDATE-00000100",
    "date_of_signature": "2026-11-20",
    "first_name": "Jonas",
    "last_name": "Becker",
}


@pytest.fixture
def markets_file(tmp_path: Path) -> Path:
    path = tmp_path / "markets.yaml"
    path.write_text(textwrap.dedent(MARKETS), encoding="utf-8")
    return path


@pytest.fixture
async def container(
    pg_url: str, markets_file: Path, checkout_sim: CheckoutSimulator
) -> AsyncIterator[Container]:
    """The app of these tests reads the markets file above (overrides conftest's)."""
    checkout_sim.accepted_keys.add(DE_KEY)
    built = build_container(
        make_settings(pg_url, markets_file=markets_file),
        checkout_transport=checkout_sim.transport(),
        checkout_retry=RetryPolicy.immediate(3),
        environ={"PAYBRIDGE_MARKET_SECRET_DE": DE_KEY},
    )
    await truncate_all(built.engine)
    yield built
    await built.aclose()


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], key: str = "key-markets-1"
) -> httpx.Response:
    return await client.post("/v1/payments", json=body, headers={"Idempotency-Key": key})


def details(response: httpx.Response) -> list[tuple[str, str]]:
    return [(d["field"], d["code"]) for d in response.json()["error"]["details"]]


async def stored_payment(container: Container) -> Any:
    async with container.engine.connect() as conn:
        return (await conn.execute(select(payments))).mappings().one()


async def test_order_country_and_currency_pick_the_market(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    response = await post(client, with_order(TotalAmount=50.00))

    assert response.status_code == 201
    assert response.json()["market"] == "nl-web"
    assert response.json()["status"] == "Authorized"  # manual capture
    sent = checkout_sim.calls("POST", "/payments")[0]
    validate_against_spec(sent, "PaymentRequest")
    assert sent["processing_channel_id"] == NL_CHANNEL
    assert sent["capture"] is False
    assert "3ds" not in sent  # 50.00 is below the 100.00 threshold
    assert sent["billing_descriptor"] == {"name": "EXAMPLE SHOP NL", "city": "Amsterdam"}
    assert sent["metadata"]["business_unit"] == "benelux"
    assert sent["metadata"]["market"] == "nl-web"
    row = await stored_payment(container)
    assert row["market"] == "nl-web"
    assert row["metadata"] == {"business_unit": "benelux", "settlement_entity": "example-bv"}


async def test_store_selects_the_channel_over_the_rules(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    response = await post(client, payment_body(store="phone", capture=True))

    assert response.status_code == 201
    assert response.json()["market"] == "phone"
    assert response.json()["status"] == "Captured"  # the phone market lets callers choose
    sent = checkout_sim.calls("POST", "/payments")[0]
    assert sent["processing_channel_id"] == PHONE_CHANNEL
    assert (await stored_payment(container))["market"] == "phone"


async def test_three_ds_above_the_threshold(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    response = await post(client, payment_body())  # 149.90 EUR > 100.00

    assert response.status_code == 202
    assert response.json()["redirect_url"].startswith("https://sandbox.checkout.com/redirect/")
    sent = checkout_sim.calls("POST", "/payments")[0]
    validate_against_spec(sent, "PaymentRequest")
    assert sent["3ds"] == {"enabled": True}
    assert sent["success_url"] == "https://shop.example.com/nl/success"


async def test_switching_three_ds_off_above_the_threshold_is_refused(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    response = await post(client, payment_body(three_ds=False))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "three_ds_not_allowed"
    assert details(response) == [("three_ds", "three_ds_not_allowed")]
    assert checkout_sim.requests == []


async def test_capture_override_outside_the_market_policy_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, payment_body(capture=True))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "capture_not_allowed"
    assert details(response) == [("capture", "capture_not_allowed")]


async def test_per_market_secret_key_is_used_for_the_call(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    body = with_order(BillingCountryCode="DE", BillingCity="Berlin")
    del body["capture"]  # the de-web market captures automatically, without overrides

    response = await post(client, body)

    assert response.status_code == 201, response.text
    assert response.json()["market"] == "de-web"
    [(_, _, headers, sent)] = checkout_sim.requests
    assert headers["authorization"] == f"Bearer {DE_KEY}"
    assert sent["processing_channel_id"] == DE_CHANNEL
    assert sent["capture"] is True

    # Refunds of that payment go to the same Checkout.com entity.
    pid = response.json()["payment_id"]
    refund = await client.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 1}, headers={"Idempotency-Key": "key-de-r1"}
    )
    assert refund.status_code == 202, refund.text
    assert checkout_sim.requests[-1][2]["authorization"] == f"Bearer {DE_KEY}"


async def test_other_markets_keep_the_global_key(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    await post(client, payment_body(store="phone"))

    [(_, _, headers, _)] = checkout_sim.requests
    assert headers["authorization"] == "Bearer sk_sbox_simulator"


async def test_no_market_is_a_field_named_422_before_anything_is_stored(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    body = with_order(BillingCountryCode="US", CurrencyIsoCode="USD")

    response = await post(client, body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "no_market"
    assert details(response) == [
        ("order.BillingCountryCode", "no_market"),
        ("order.CurrencyIsoCode", "no_market"),
    ]
    assert "no market matches country US and currency USD" in error["message"]
    assert checkout_sim.requests == []
    async with container.engine.connect() as conn:
        assert (await conn.execute(select(idempotency_keys))).first() is None

    fixed = await post(client, {**body, "store": "phone"})  # same key, now a market
    assert fixed.status_code == 201


async def test_unknown_store_is_no_market(client: httpx.AsyncClient) -> None:
    response = await post(client, payment_body(store="fr-web"))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_market"
    assert details(response) == [("store", "no_market")]


async def test_method_the_market_does_not_allow(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    response = await post(client, payment_body(payment_method=SEPA))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "payment_method_not_allowed"
    assert details(response) == [("payment_method.type", "payment_method_not_allowed")]
    assert checkout_sim.requests == []


async def test_ideal_redirects_with_the_market_urls(
    client: httpx.AsyncClient, container: Container, checkout_sim: CheckoutSimulator
) -> None:
    body = payment_body(payment_method={"type": "ideal", "bic": "INGBNL2A"})
    del body["capture"]  # iDEAL is captured at once; the market's manual mode does not apply

    response = await post(client, body)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "Pending"
    assert response.json()["redirect_url"].startswith("https://sandbox.checkout.com/redirect/")
    assert response.json()["payment_method"] == "ideal"
    sent = checkout_sim.calls("POST", "/payments")[0]
    validate_against_spec(sent, "PaymentRequest")
    assert sent["source"] == {"type": "ideal", "bic": "INGBNL2A", "description": "Order 00000100"}
    assert sent["capture"] is True
    assert sent["failure_url"] == "https://shop.example.com/nl/failure"
    assert "3ds" not in sent


async def test_sepa_is_pending_without_redirect(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    body = with_order(BillingCountryCode="DE", BillingCity="Berlin")
    body["payment_method"] = SEPA
    del body["capture"]

    response = await post(client, body)

    assert response.status_code == 202, response.text
    assert response.json()["redirect_url"] is None
    validate_against_spec(checkout_sim.calls("POST", "/payments")[0], "PaymentRequest")


async def test_method_constraint_names_the_order_field(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    body = with_order(BillingCountryCode="BE")
    body.update(store="nl-web", payment_method={"type": "ideal", "bic": "INGBNL2A"})
    del body["capture"]

    response = await post(client, body)

    assert response.status_code == 422
    assert details(response) == [("order.BillingCountryCode", "unsupported_country")]
    assert response.json()["error"]["details"][0]["message"] == (
        "iDEAL is not available in BE (only NL)"
    )
    assert checkout_sim.requests == []


async def test_method_field_errors_name_the_field_without_the_tag(
    client: httpx.AsyncClient,
) -> None:
    response = await post(
        client, payment_body(payment_method={"type": "ideal", "bic": "ing", "colour": "red"})
    )

    assert response.status_code == 422
    assert sorted(field for field, _ in details(response)) == [
        "payment_method.bic",
        "payment_method.colour",
    ]


async def test_unset_secret_variable_stops_start_up(pg_url: str, markets_file: Path) -> None:
    with pytest.raises(MarketsFileError, match="PAYBRIDGE_MARKET_SECRET_DE is not set"):
        build_container(make_settings(pg_url, markets_file=markets_file), environ={})


async def test_invalid_markets_file_stops_start_up(pg_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "markets.yaml"
    bad.write_text("markets:\n  - key: x\n    payment_methods: [token]\n", encoding="utf-8")

    with pytest.raises(MarketsFileError) as caught:
        build_container(make_settings(pg_url, markets_file=bad), environ={})

    assert caught.value.problems == [f"{bad}: markets[0] (x): processing_channel_id: required"]
