"""Fees and settlement through the simulated Checkout.com: the fold in PostgreSQL
(duplicates, corrections, out of order), the view, the daily sweep across an outage and
the warning about captures left unsettled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paybridge.adapters.checkout.errors import CheckoutNotFound
from paybridge.adapters.checkout.financial_actions import FinancialAction
from paybridge.container import Container
from paybridge.persistence.tables import integration_logs, outbox
from paybridge.services.settlement import SWEEP_TASK, SettlementService
from paybridge.worker.tasks import build_worker
from tests.api.payloads import ORDER
from tests.api.test_actions import act, confirm, create
from tests.checkout_spec import validate_against_spec
from tests.conftest import ShiftedClock, app_client
from tests.simulators.checkout import CheckoutSimulator

FOREVER = 10**9
COMPRESSED = {"embedded": False, "max_attempts": 2, "backoff_base_s": 1, "outage_backoff_max_s": 5}


@pytest.fixture
async def env(
    pg_url: str, checkout_sim: CheckoutSimulator, clock: ShiftedClock
) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    settings = {"worker": COMPRESSED, "settlement": {"sweep_batch": 1}}
    async with app_client(pg_url, checkout_sim, clock, **settings) as built:
        yield built


async def captured(container: Container, client: httpx.AsyncClient) -> tuple[str, str]:
    """A 100.00 EUR payment captured by hand, its capture confirmed: (pay_…, act_…)."""
    pid = await create(client, capture=False, order={**ORDER, "TotalAmount": 100.00})
    response = await act(client, pid, "captures", {})
    assert response.status_code == 202, response.text
    action_id = str(response.json()["action_id"])
    await confirm(container, pid, action_id)
    return pid, action_id


async def view(client: httpx.AsyncClient, pid: str) -> dict[str, Any]:
    response = await client.get(f"/v1/payments/{pid}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def capture_of(body: dict[str, Any]) -> dict[str, Any]:
    captures: list[dict[str, Any]] = [a for a in body["actions"] if a["type"] == "capture"]
    assert len(captures) == 1
    return captures[0]


async def rows(container: Container, table: Any) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(select(table))).mappings()]


# --- one payment ----------------------------------------------------------------------------


async def test_fees_and_net_of_a_capture_show_per_action_and_in_totals(
    env: tuple[Container, httpx.AsyncClient],
) -> None:
    container, client = env
    pid, _ = await captured(container, client)

    assert await container.settlement.settle_payment(pid) == 1

    body = await view(client, pid)
    # The simulator's documented rule for a 100.00 capture.
    assert capture_of(body)["settlement"] == {
        "currency": "EUR",
        "gross": "100.00",
        "processing_fees": "1.00",
        "scheme_fees": "0.07",
        "interchange": "0.20",
        "fees": "1.27",
        "net": "98.73",
        "payout_id": None,
        "settled_on": container.clock().date().isoformat(),
    }
    assert body["settlement"] == [
        {"currency": "EUR", "gross": "100.00", "fees": "1.27", "net": "98.73", "settled_actions": 1}
    ]


async def test_a_refund_settles_negative_and_the_totals_net_both(
    env: tuple[Container, httpx.AsyncClient],
) -> None:
    container, client = env
    pid, _ = await captured(container, client)
    refund = await act(client, pid, "refunds", {"amount": 40.00})
    await confirm(container, pid, str(refund.json()["action_id"]))

    assert await container.settlement.settle_payment(pid) == 2

    body = await view(client, pid)
    (refunded,) = [a for a in body["actions"] if a["type"] == "refund"]
    assert (refunded["settlement"]["gross"], refunded["settlement"]["net"]) == ("-40.00", "-40.10")
    assert body["settlement"][0]["net"] == "58.63"


async def test_asking_twice_changes_nothing_and_a_correction_replaces_the_figure(
    env: tuple[Container, httpx.AsyncClient], checkout_sim: CheckoutSimulator
) -> None:
    container, client = env
    pid, action_id = await captured(container, client)
    await container.settlement.settle_payment(pid)
    version = (await view(client, pid))["salesforce"]["version"]

    assert await container.settlement.settle_payment(pid) == 0
    assert (await view(client, pid))["salesforce"]["version"] == version

    checkout_sim.fee_corrections[action_id] = Decimal("0.50")
    assert await container.settlement.settle_payment(pid) == 1
    body = await view(client, pid)
    assert capture_of(body)["settlement"]["processing_fees"] == "0.50"
    assert capture_of(body)["settlement"]["net"] == "99.23"
    assert body["salesforce"]["version"] == version + 1


class ScriptedCheckout:
    """Answers each call with the next scripted list of financial actions (or raises it)."""

    def __init__(self, answers: list[list[FinancialAction] | Exception]) -> None:
        self.answers = answers

    async def financial_actions_of_payment(
        self, payment_id: str, *, max_pages: int = 20, secret_key: str | None = None
    ) -> list[FinancialAction]:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def financial_action(pid: str, action_id: str, *, at: datetime, fee: str) -> FinancialAction:
    return FinancialAction.model_validate(
        {
            "payment_id": pid,
            "action_id": action_id,
            "action_type": "Capture",
            "processed_on": at.isoformat(),
            "breakdown": [
                {
                    "breakdown_type": "Gross",
                    "holding_currency": "EUR",
                    "holding_currency_amount": "100",
                },
                {
                    "breakdown_type": "Processing Fee",
                    "holding_currency": "EUR",
                    "holding_currency_amount": fee,
                },
            ],
        }
    )


async def test_an_older_figure_heard_later_never_replaces_the_newer_one(
    env: tuple[Container, httpx.AsyncClient],
) -> None:
    container, client = env
    pid, action_id = await captured(container, client)
    first = datetime(2026, 12, 1, 9, tzinfo=UTC)
    older = financial_action(pid, action_id, at=first, fee="2.00")
    newer = financial_action(pid, action_id, at=first + timedelta(days=1), fee="1.50")
    other_payment = financial_action("pay_someoneelse00000000000000", "act_x", at=first, fee="9")
    service = SettlementService(
        uow=container.uow,
        checkout=ScriptedCheckout([[newer, older, newer, other_payment], [older]]),
        clock=container.clock,
        metrics=container.metrics,
    )

    assert await service.settle_payment(pid) == 1
    assert await service.settle_payment(pid) == 0

    settlement = capture_of(await view(client, pid))["settlement"]
    assert (settlement["processing_fees"], settlement["settled_on"]) == ("1.50", "2026-12-02")


# --- the daily sweep ------------------------------------------------------------------------


async def test_the_sweep_waits_out_an_outage_and_resumes_where_it_stopped(
    env: tuple[Container, httpx.AsyncClient],
    checkout_sim: CheckoutSimulator,
    clock: ShiftedClock,
) -> None:
    container, client = env
    payments = [await captured(container, client) for _ in range(3)]
    worker = build_worker(container)
    await worker.drain()  # the payments' own tasks
    await container.settlement.enqueue_sweeps(clock().date(), clock().date())

    await worker.run_once([SWEEP_TASK])  # one payment per run (sweep_batch 1)
    checkout_sim.fail_next = FOREVER
    for _ in range(30):  # hours away, far past every retry budget
        clock.advance(600)
        await worker.run_once([SWEEP_TASK])

    tasks = [t for t in await rows(container, outbox) if t["kind"] == SWEEP_TASK]
    waiting = [t for t in tasks if t["status"] == "pending"]
    assert len(waiting) == 1
    assert waiting[0]["attempts"] == 0
    assert waiting[0]["payload"]["after"] != ""  # resumes after the payment already swept
    settled = [capture_of(await view(client, pid))["settlement"] for pid, _ in payments]
    assert sum(s is not None for s in settled) == 1

    checkout_sim.fail_next = 0
    for _ in range(5):
        clock.advance(600)
        await worker.drain()

    for pid, _ in payments:
        assert capture_of(await view(client, pid))["settlement"]["net"] == "98.73"
    tasks = [t for t in await rows(container, outbox) if t["kind"] == SWEEP_TASK]
    assert {t["status"] for t in tasks} == {"done"}


async def test_the_cli_sweep_settles_the_days_it_is_given(
    env: tuple[Container, httpx.AsyncClient],
) -> None:
    container, client = env
    pid, _ = await captured(container, client)
    today = container.clock().date()

    await container.settlement.sweep_day(today - timedelta(days=1))
    assert capture_of(await view(client, pid))["settlement"] is None

    await container.settlement.sweep_day(today)
    assert capture_of(await view(client, pid))["settlement"] is not None


async def test_a_capture_unsettled_after_the_configured_days_is_warned_about_once(
    env: tuple[Container, httpx.AsyncClient],
    checkout_sim: CheckoutSimulator,
    clock: ShiftedClock,
) -> None:
    container, client = env
    pid, action_id = await captured(container, client)
    checkout_sim.unsettled_actions.add(action_id)

    clock.advance(2 * 86_400)
    await container.settlement.sweep_day(clock().date())
    assert [log for log in await rows(container, integration_logs) if log["level"] == "WARN"] == []

    clock.advance(2 * 86_400)  # four days after the capture (the default is three)
    await container.settlement.sweep_day(clock().date())
    await container.settlement.sweep_day(clock().date())

    (warning,) = [log for log in await rows(container, integration_logs) if log["level"] == "WARN"]
    assert warning["error_code"] == "capture_unsettled"
    assert (warning["checkout_payment_id"], warning["cko_action_id"]) == (pid, action_id)
    assert "100.00 EUR" in warning["message"]
    assert b"paybridge_unsettled_captures_total 1.0" in container.metrics.render()

    checkout_sim.unsettled_actions.clear()  # it settles late: the figures still come
    await container.settlement.sweep_day(clock().date())
    assert capture_of(await view(client, pid))["settlement"] is not None


async def test_the_simulators_financial_actions_have_the_specs_shape_and_pages(
    env: tuple[Container, httpx.AsyncClient], checkout_sim: CheckoutSimulator
) -> None:
    container, client = env
    pid, _ = await captured(container, client)
    refund = await act(client, pid, "refunds", {"amount": 10.00})
    assert refund.status_code == 202
    async with httpx.AsyncClient(
        transport=checkout_sim.transport(),
        base_url="https://api.sandbox.checkout.com",
        headers={"Authorization": f"Bearer {checkout_sim.secret_key}"},
    ) as cko:
        first = await cko.get("/financial-actions", params={"payment_id": pid, "limit": 1})
        body = first.json()
        assert first.status_code == 200
        assert body["count"] == 1
        token = body["_links"]["next"]["href"].rsplit("pagination_token=", 1)[1]
        second = (
            await cko.get(
                "/financial-actions",
                params={"payment_id": pid, "limit": 1, "pagination_token": token},
            )
        ).json()
    assert "next" not in second["_links"]
    assert [a["action_type"] for a in body["data"] + second["data"]] == ["Capture", "Refund"]
    for page in (body, second):
        # `_links` is left out: the spec's own link schema admits no `href` (a slip).
        validate_against_spec({**page, "_links": {}}, "FinancialActionListResponse")


async def test_an_auto_capture_whose_webhook_is_late_is_swept_and_totalled(
    env: tuple[Container, httpx.AsyncClient],
) -> None:
    container, client = env
    pid = await create(client, capture=True, order={**ORDER, "TotalAmount": 100.00})
    (placeholder,) = [a for a in (await view(client, pid))["actions"] if a["type"] == "capture"]
    assert not placeholder["action_id"].startswith("act_")

    await container.settlement.sweep_day(container.clock().date())

    body = await view(client, pid)
    assert body["settlement"][0]["net"] == "98.73"  # known under the id the webhook will bring
    assert capture_of(body)["settlement"] is None


async def test_a_payment_checkout_refuses_is_logged_and_the_day_goes_on(
    env: tuple[Container, httpx.AsyncClient],
) -> None:
    container, client = env
    first, second = [await captured(container, client) for _ in range(2)]
    at = container.clock()
    answers: dict[str, list[FinancialAction] | Exception] = {
        first[0]: CheckoutNotFound(
            "not found", operation="financial_actions.list", upstream_status=404
        ),
        second[0]: [financial_action(second[0], second[1], at=at, fee="1.00")],
    }
    async with container.uow() as uow:
        due = await uow.settlements.payments_to_sweep(
            start=at - timedelta(days=1),
            end=at + timedelta(days=1),
            unsettled_since=at,
            after="",
            limit=10,
        )
    service = SettlementService(
        uow=container.uow,
        checkout=ScriptedCheckout([answers[row["checkout_payment_id"]] for row in due]),
        clock=container.clock,
        metrics=container.metrics,
    )

    await service.sweep_day(at.date())

    assert capture_of(await view(client, second[0]))["settlement"]["net"] == "99.00"
    (refusal,) = [log for log in await rows(container, integration_logs) if log["level"] == "ERROR"]
    assert (refusal["operation"], refusal["error_code"]) == (
        "settlement.financial_actions",
        "upstream_not_found",
    )
    assert (refusal["checkout_payment_id"], refusal["http_status"]) == (first[0], 404)
