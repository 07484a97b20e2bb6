"""Whole payment lifecycles over real HTTP: Salesforce's API calls, Checkout.com's signed
webhooks, one `paybridge serve` with its embedded worker — and what Salesforce ends up with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.checks import (
    assert_events_once,
    assert_mirrored,
    charges_at_checkout,
    payment_when,
    settled,
)
from tests.e2e.client import PaybridgeClient, action_event, new_order, order_payment
from tests.e2e.harness import Stack


@pytest.fixture(scope="module")
async def api(stack: Stack) -> AsyncIterator[PaybridgeClient]:
    server = await stack.serve("api")
    client = PaybridgeClient(server.base_url)
    yield client
    await client.aclose()


async def ordered(stack: Stack) -> tuple[str, str]:
    """A new Order, present in the simulated org."""
    order_id, number = new_order()
    await stack.sims.seed_orders(order_id)
    return order_id, number


def ledger(view: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return sorted((a["type"], a["status"], a["amount"]) for a in view["actions"])


async def finish(
    stack: Stack, api: PaybridgeClient, pid: str, order_id: str, event_ids: list[str]
) -> dict[str, Any]:
    """Settle, then check Salesforce and the database against paybridge's view."""
    view = (await settled(stack, api, [pid]))[pid]
    state = await stack.sims.salesforce_state()
    assert_mirrored(state, view, order_id=order_id)
    await assert_events_once(stack, state, event_ids)
    return view


async def test_card_authorized_captured_in_parts_and_refunded(
    stack: Stack, api: PaybridgeClient
) -> None:
    order_id, number = await ordered(stack)
    created = await api.create(order_payment(order_id, number), key=f"create-{number}")
    assert created.status_code == 201, created.text
    view = created.json()
    pid = view["payment_id"]
    assert (view["status"], view["amounts"]["authorized"]) == ("Authorized", "149.90")

    first = await api.act(pid, "captures", key=f"capture-1-{number}", amount=50, final=False)
    assert first.status_code == 202, first.text
    second = await api.act(pid, "captures", key=f"capture-2-{number}", amount="99.90")
    assert second.status_code == 202, second.text
    events = [
        action_event(
            "payment_captured", view, action_id=first.json()["action_id"], amount_minor=5000
        ),
        action_event(
            "payment_captured", view, action_id=second.json()["action_id"], amount_minor=9990
        ),
    ]
    for body in events:
        assert await api.deliver_ok(body) == "accepted"
    await payment_when(
        api, pid, lambda v: v["amounts"]["captured"] == "149.90", what="both captures applied"
    )
    refund = await api.act(pid, "refunds", key=f"refund-{number}", amount=40, reason="Damaged")
    assert refund.status_code == 202, refund.text
    refunded = action_event(
        "payment_refunded", view, action_id=refund.json()["action_id"], amount_minor=4000
    )
    events.append(refunded)
    assert await api.deliver_ok(refunded) == "accepted"

    final = await finish(stack, api, pid, order_id, [e["id"] for e in events])
    assert final["status"] == "Partially Refunded"
    assert final["amounts"] | {"lost_in_disputes": "0"} == {
        "authorized": "149.90",
        "captured": "149.90",
        "refunded": "40.00",
        "available_to_capture": "0.00",
        "available_to_refund": "109.90",
        "available_to_void": "0.00",
        "lost_in_disputes": "0",
    }
    assert ledger(final) == [
        ("authorization", "Succeeded", "149.90"),
        ("capture", "Succeeded", "50.00"),
        ("capture", "Succeeded", "99.90"),
        ("refund", "Succeeded", "40.00"),
    ]
    (charge,) = charges_at_checkout(await stack.sims.checkout_state(), number)
    assert (charge["id"], charge["captured"], charge["refunded"]) == (pid, 14990, 4000)
    assert [a["type"] for a in charge["actions"]] == ["capture", "capture", "refund"]


async def test_three_ds_success_and_failure(stack: Stack, api: PaybridgeClient) -> None:
    outcomes = {"payment_approved": "Authorized", "payment_authentication_failed": "Declined"}
    for event_type, status in outcomes.items():
        order_id, number = await ordered(stack)
        body = order_payment(order_id, number, three_ds=True)
        created = await api.create(body, key=f"create-{number}")
        assert created.status_code == 202, created.text
        view = created.json()
        pid = view["payment_id"]
        assert view["status"] == "Pending"
        assert view["redirect_url"].endswith(pid)
        # The shopper finishes (or fails) the challenge; Checkout.com reports the outcome.
        cko = await stack.sims.checkout_state()
        webhook = action_event(
            event_type, view, action_id=cko["payments"][pid]["action_id"], amount_minor=14990
        )
        assert await api.deliver_ok(webhook) == "accepted"

        final = await finish(stack, api, pid, order_id, [webhook["id"]])
        assert final["status"] == status, event_type
        expected = "Succeeded" if status == "Authorized" else "Declined"
        assert ledger(final) == [("authorization", expected, "149.90")]
        authorized = "149.90" if status == "Authorized" else "0.00"
        assert final["amounts"]["available_to_capture"] == authorized


async def test_ideal_paid_after_the_redirect(stack: Stack, api: PaybridgeClient) -> None:
    """Confirmed either by `payment_approved` + `payment_captured`, or by `payment_paid`."""
    confirmations = (("payment_approved", "payment_captured"), ("payment_paid",))
    for sequence in confirmations:
        order_id, number = await ordered(stack)
        body = order_payment(
            order_id,
            number,
            payment_method={"type": "ideal", "bic": "INGBNL2A"},
            success_url="https://shop.example.com/ok",
            failure_url="https://shop.example.com/ko",
        )
        del body["capture"]  # bank redirects are captured at once
        created = await api.create(body, key=f"create-{number}")
        assert created.status_code == 202, created.text
        view = created.json()
        pid = view["payment_id"]
        assert (view["status"], view["payment_method"]) == ("Pending", "ideal")
        assert view["redirect_url"]
        authorization = (await stack.sims.checkout_state())["payments"][pid]["action_id"]
        events = [
            action_event(
                kind,
                view,
                action_id=authorization if kind == "payment_approved" else f"act_paid{number}",
                amount_minor=14990,
            )
            for kind in sequence
        ]
        for webhook in events:
            assert await api.deliver_ok(webhook) == "accepted"

        final = await finish(stack, api, pid, order_id, [e["id"] for e in events])
        assert final["status"] == "Captured", sequence
        assert (final["amounts"]["captured"], final["amounts"]["available_to_refund"]) == (
            "149.90",
            "149.90",
        )
        assert ("capture", "Succeeded", "149.90") in ledger(final)


async def test_authorization_voided(stack: Stack, api: PaybridgeClient) -> None:
    order_id, number = await ordered(stack)
    created = await api.create(order_payment(order_id, number), key=f"create-{number}")
    assert created.status_code == 201, created.text
    view = created.json()
    pid = view["payment_id"]
    void = await api.act(pid, "voids", key=f"void-{number}", reference="CANCEL-1")
    assert void.status_code == 202, void.text
    webhook = action_event(
        "payment_voided", view, action_id=void.json()["action_id"], amount_minor=14990
    )
    assert await api.deliver_ok(webhook) == "accepted"
    await payment_when(api, pid, lambda v: v["status"] == "Voided", what="void applied")
    # A late authorization event cannot move a terminal status.
    authorization = next(a["action_id"] for a in view["actions"] if a["type"] == "authorization")
    late_event = action_event(
        "payment_approved",
        view,
        action_id=authorization,
        amount_minor=14990,
        created_on="2026-11-28T11:00:00.0000000Z",
    )
    assert await api.deliver_ok(late_event) == "accepted"

    final = await finish(stack, api, pid, order_id, [webhook["id"], late_event["id"]])
    assert final["status"] == "Voided"
    assert ledger(final) == [
        ("authorization", "Succeeded", "149.90"),
        ("void", "Succeeded", "149.90"),
    ]
    late = await api.act(pid, "captures", key=f"capture-{number}")
    assert late.status_code == 409, late.text
    (charge,) = charges_at_checkout(await stack.sims.checkout_state(), number)
    assert (charge["status"], [a["type"] for a in charge["actions"]]) == ("Voided", ["void"])
