"""Hostile input through the HTTP API: a clean 4xx naming the field, never a 500 or a stall,
and nothing stored or half-written (issue: hostile input never reaches a 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paybridge.container import Container
from paybridge.persistence.tables import inbound_events, outbox
from tests.api.payloads import payment_body, with_order
from tests.api.test_actions import act, create, new_key
from tests.api.test_request_errors import nothing_stored
from tests.simulators.checkout import CheckoutSimulator
from tests.webhook_events import event, signed

DEPTH = 10_000
JSON = {"Content-Type": "application/json"}


def nested(opening: str) -> bytes:
    """An object whose `order` nests `DEPTH` arrays or objects."""
    inner, tail = ('{"a":', "}") if opening == "{" else ("[", "]")
    return ('{"order": ' + inner * DEPTH + "1" + tail * DEPTH + "}").encode()


@pytest.mark.parametrize("opening", ["[", "{"])
async def test_deeply_nested_json_on_the_api_is_malformed_json(
    client: httpx.AsyncClient, container: Container, opening: str
) -> None:
    response = await client.post(
        "/v1/payments", content=nested(opening), headers={"Idempotency-Key": new_key(), **JSON}
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "malformed_json"
    assert response.json()["error"]["details"][0]["field"] == "body"
    assert await nothing_stored(container)


@pytest.mark.parametrize("opening", ["[", "{"])
async def test_deeply_nested_json_on_an_action_is_malformed_json(
    client: httpx.AsyncClient, opening: str
) -> None:
    pid = await create(client)
    response = await client.post(
        f"/v1/payments/{pid}/captures",
        content=nested(opening),
        headers={"Idempotency-Key": new_key(), **JSON},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "malformed_json"


async def test_nesting_within_the_bound_is_parsed(client: httpx.AsyncClient) -> None:
    body = payment_body()
    body["order"]["Deep__c"] = [[[[[[[[[[["ten levels of a custom field"]]]]]]]]]]]
    response = await client.post("/v1/payments", json=body, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("opening", ["[", "{"])
async def test_a_signed_deeply_nested_webhook_is_quarantined_and_acknowledged(
    client: httpx.AsyncClient, container: Container, opening: str
) -> None:
    raw, headers = signed(nested(opening))
    response = await client.post("/v1/webhooks/checkout", content=raw, headers=headers)

    assert response.status_code == 200
    assert response.json()["status"] == "quarantined"
    async with container.engine.connect() as conn:
        stored = (await conn.execute(select(inbound_events))).mappings().one()
        tasks = (await conn.execute(select(outbox))).all()
    assert stored["status"] == "quarantined"
    assert stored["raw_body"] == raw
    assert "nested deeper" in stored["error"]
    assert tasks == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("OrderNumber", "000\u0000100"),
        ("BillingCity", "Amster\u0000dam"),
        ("BillingStreet", "Keizersgracht 1\u001b[2J"),
        ("Custom_Field__c", "bell\u0007"),
    ],
)
async def test_nul_and_control_characters_in_the_body_are_refused_naming_the_field(
    client: httpx.AsyncClient, container: Container, field: str, value: str
) -> None:
    response = await client.post(
        "/v1/payments", json=with_order(**{field: value}), headers={"Idempotency-Key": new_key()}
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"] == [
        {
            "field": f"order.{field}",
            "code": "invalid_characters",
            "message": "contains a control character",
        }
    ]
    assert await nothing_stored(container)


async def test_nul_in_a_key_is_refused(client: httpx.AsyncClient, container: Container) -> None:
    body = payment_body()
    body["customer"]["Evil\u0000__c"] = "x"
    response = await client.post("/v1/payments", json=body, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "customer.Evil?__c"
    assert await nothing_stored(container)


async def test_line_breaks_and_tabs_are_text(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/payments",
        json=with_order(BillingStreet="Keizersgracht 1\r\nSecond floor\tback"),
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 201, response.text


async def test_nul_in_an_action_body_is_refused(client: httpx.AsyncClient) -> None:
    pid = await create(client)
    response = await act(client, pid, "refunds", {"reason": "dup\u0000licate"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "reason"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/payments/%00",
        "/v1/payments/pay_%00abc",
        "/v1/payments/pay_x%00/captures",
        "/v1/disputes/dsp_%00",
        "/v1/payments/%1b",
    ],
)
async def test_nul_in_a_path_parameter_is_404(client: httpx.AsyncClient, path: str) -> None:
    method = client.post if path.endswith("captures") else client.get
    response = await method(path, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_webhook_with_nul_in_its_strings_is_quarantined(
    client: httpx.AsyncClient, container: Container
) -> None:
    body = event("payment_approved", "pay_a", action_id="act_a")
    body["id"] = "evt_\u0000"
    raw, headers = signed(body)
    response = await client.post("/v1/webhooks/checkout", content=raw, headers=headers)

    assert response.status_code == 200
    assert response.json()["status"] == "quarantined"
    async with container.engine.connect() as conn:
        stored = (await conn.execute(select(inbound_events))).mappings().one()
    assert stored["status"] == "quarantined"


@pytest.mark.parametrize("amount", ["1E+5000", "1E+999990", "-1E+999990", "1E-999990", "9" * 400])
async def test_amounts_in_exponent_notation_are_invalid_amount(
    client: httpx.AsyncClient, container: Container, amount: str
) -> None:
    raw = payment_body()
    raw["order"]["TotalAmount"] = 0
    text = httpx.Request("POST", "/", json=raw).content.decode()
    text = text.replace('"TotalAmount": 0', f'"TotalAmount": {amount}')
    text = text.replace('"TotalAmount":0', f'"TotalAmount":{amount}')
    assert amount in text
    response = await client.post(
        "/v1/payments", content=text.encode(), headers={"Idempotency-Key": new_key(), **JSON}
    )

    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert details[0]["field"] in {"order.TotalAmount", "body"}
    assert details[0]["code"] in {"invalid_amount", "malformed_json"}
    assert await nothing_stored(container)


@pytest.mark.parametrize("kind", ["captures", "refunds"])
@pytest.mark.parametrize("amount", ["1E+5000", "1E+999990", '"1E+999990"'])
async def test_exponent_amounts_on_actions_are_invalid_amount(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator, kind: str, amount: str
) -> None:
    pid = await create(client, capture=kind == "refunds")
    response = await client.post(
        f"/v1/payments/{pid}/{kind}",
        content=f'{{"amount": {amount}}}'.encode(),
        headers={"Idempotency-Key": new_key(), **JSON},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "amount"
    assert response.json()["error"]["details"][0]["code"] == "invalid_amount"
    assert checkout_sim.calls("POST", f"/payments/{pid}/{kind}") == []


async def test_a_card_number_behind_a_house_number_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    response = await client.post(
        "/v1/payments",
        json=with_order(BillingStreet="Keizersgracht 1 4242 4242 4242 4242"),
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "card_data_rejected"
    assert response.json()["error"]["details"][0]["field"] == "order.BillingStreet"
    assert "4242" not in response.text
    assert await nothing_stored(container)


@pytest.mark.parametrize("total", [149.9, "149.90", "149.9000"])
async def test_the_same_amount_written_differently_is_the_same_request(
    client: httpx.AsyncClient, total: Any
) -> None:
    key = new_key()
    first = await client.post(
        "/v1/payments", json=with_order(TotalAmount=149.90), headers={"Idempotency-Key": key}
    )
    again = with_order(TotalAmount=total, SystemModstamp="2026-12-05T10:00:00.000+0000")
    again["order"]["LastModifiedDate"] = "2026-12-05T10:00:00.000+0000"
    again["order"]["attributes"]["url"] = "/services/data/v62.0/sobjects/Order/8015g00000AbCdEAAV"
    replay = await client.post("/v1/payments", json=again, headers={"Idempotency-Key": key})

    assert first.status_code == 201
    assert replay.status_code == 201, replay.text
    assert replay.json() == first.json()


async def test_action_amounts_written_differently_are_the_same_request(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client)
    key = new_key()
    bodies: list[bytes] = [b'{"amount": 50}', b'{"amount": 50.0}', b'{"amount": "50.00"}']
    answers = [
        await client.post(
            f"/v1/payments/{pid}/captures",
            content=body,
            headers={"Idempotency-Key": key, **JSON},
        )
        for body in bodies
    ]
    assert [a.status_code for a in answers] == [202, 202, 202], answers[-1].text
    assert len({a.json()["action_id"] for a in answers}) == 1
    assert len(checkout_sim.calls("POST", f"/payments/{pid}/captures")) == 1


async def test_a_different_amount_is_still_a_different_request(client: httpx.AsyncClient) -> None:
    key = new_key()
    await client.post(
        "/v1/payments", json=with_order(TotalAmount=149.90), headers={"Idempotency-Key": key}
    )
    other = await client.post(
        "/v1/payments", json=with_order(TotalAmount="149.91"), headers={"Idempotency-Key": key}
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_a_void_with_json_content_type_and_no_body_means_empty(
    client: httpx.AsyncClient,
) -> None:
    pid = await create(client)
    response = await client.post(
        f"/v1/payments/{pid}/voids", headers={"Idempotency-Key": new_key(), **JSON}
    )
    assert response.status_code == 202, response.text
    assert response.json()["type"] == "void"


async def test_capture_everything_with_json_content_type_and_no_body(
    client: httpx.AsyncClient,
) -> None:
    pid = await create(client)
    response = await client.post(
        f"/v1/payments/{pid}/captures", headers={"Idempotency-Key": new_key(), **JSON}
    )
    assert response.status_code == 202, response.text
    assert response.json()["amount"] == "149.90"


async def test_an_action_body_without_a_content_type_is_415(
    client: httpx.AsyncClient, checkout_sim: CheckoutSimulator
) -> None:
    pid = await create(client)
    response = await client.post(
        f"/v1/payments/{pid}/refunds",
        content=b'{"amount": 1.00}',
        headers={"Idempotency-Key": new_key(), "Content-Type": ""},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert checkout_sim.calls("POST", f"/payments/{pid}/refunds") == []
