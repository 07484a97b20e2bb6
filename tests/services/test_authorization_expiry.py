"""Authorizations that expire, with a clock the tests move: the expiry is stamped (the
market's per-method validity, else the default), an uncaptured one is warned about once
inside the window, and Checkout.com's `payment_expired` sets Expired with the Order's fields
following all its payments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from paybridge.container import Container
from paybridge.domain.authorization_expiry import authorization_expires_at, is_due_for_warning
from paybridge.domain.facts import ActionFact
from paybridge.domain.markets import Market, MarketBook
from paybridge.domain.status import ActionStatus, ActionType
from paybridge.metrics import Metrics
from paybridge.persistence.tables import integration_logs, payments
from paybridge.services.authorization_expiry import AuthorizationExpiryService
from paybridge.services.ledger import apply_facts
from tests.api.test_actions import act, confirm, create
from tests.conftest import ShiftedClock

DAY = 86_400
T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)


async def warnings(container: Container) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        result = await conn.execute(
            select(integration_logs).where(integration_logs.c.level == "WARN")
        )
        return [dict(row) for row in result.mappings()]


async def view(client: httpx.AsyncClient, pid: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/v1/payments/{pid}")).json()
    return body


def test_the_method_validity_of_the_market_wins_over_the_default() -> None:
    validity = {"klarna": timedelta(days=28)}
    card = authorization_expires_at(T0, method="token", validity_by_method=validity)
    klarna = authorization_expires_at(T0, method="klarna", validity_by_method=validity)
    assert card == T0 + timedelta(days=7)
    assert klarna == T0 + timedelta(days=28)


def test_the_warning_window() -> None:
    expires = T0 + timedelta(days=7)
    window = timedelta(hours=24)
    assert not is_due_for_warning(expires, now=expires - timedelta(hours=25), warn_before=window)
    assert is_due_for_warning(expires, now=expires - timedelta(hours=24), warn_before=window)
    assert is_due_for_warning(expires, now=expires + timedelta(hours=1), warn_before=window)
    assert not is_due_for_warning(expires, now=expires, warn_before=timedelta(0))


def test_the_service_reads_the_markets_file_validity_for_the_payments_method() -> None:
    market = Market(
        key="nl-web",
        processing_channel_id=None,
        payment_methods=frozenset({"klarna", "token"}),
        authorization_validity_h=(("klarna", 672.0),),
    )
    service = AuthorizationExpiryService(
        uow=lambda: None,  # type: ignore[arg-type, return-value]  # never opened here
        clock=lambda: T0,
        metrics=Metrics(),
        markets=MarketBook((market,), default="nl-web"),
    )
    row = {"processed_at": T0, "requested_at": None, "created_at": T0, "market": "nl-web"}
    assert service.expires_at({**row, "payment_method": "klarna"}) == T0 + timedelta(days=28)  # type: ignore[arg-type]
    assert service.expires_at({**row, "payment_method": "token"}) == T0 + timedelta(days=7)  # type: ignore[arg-type]


async def test_checkouts_own_expiry_from_the_201_is_kept(
    client: httpx.AsyncClient, container: Container, clock: ShiftedClock
) -> None:
    pid = await create(client, capture=False)

    expires = datetime.fromisoformat((await view(client, pid))["authorization_expires_at"])
    # The simulator states Checkout.com's 7 days in `expires_on`; nothing is left to stamp.
    assert abs(expires - (clock() + timedelta(days=7))) < timedelta(seconds=5)
    assert await container.authorization_expiry.check() == (0, 0)


async def forget_expiry(container: Container, pid: str) -> None:
    """As for a payment known from webhooks only: no `expires_on` from Checkout.com."""
    async with container.engine.begin() as conn:
        await conn.execute(
            update(payments)
            .where(payments.c.checkout_payment_id == pid)
            .values(authorization_expires_at=None)
        )


async def test_an_uncaptured_authorization_is_stamped_then_warned_about_once(
    client: httpx.AsyncClient, container: Container, clock: ShiftedClock
) -> None:
    pid = await create(client, capture=False)
    authorized_at = clock()
    await forget_expiry(container, pid)
    version = (await view(client, pid))["salesforce"]["version"]

    assert await container.authorization_expiry.check() == (1, 0)
    stamped = await view(client, pid)
    expires = datetime.fromisoformat(stamped["authorization_expires_at"])
    assert abs(expires - (authorized_at + timedelta(days=7))) < timedelta(seconds=5)
    assert stamped["salesforce"]["version"] == version + 1  # so Salesforce gets Expires_At__c

    clock.advance(5 * DAY)
    assert await container.authorization_expiry.check() == (0, 0)
    assert await warnings(container) == []

    clock.advance(DAY + 3600)  # 23 hours before it lapses (the window is 24)
    assert await container.authorization_expiry.check() == (0, 1)
    assert await container.authorization_expiry.check() == (0, 0)

    (warning,) = await warnings(container)
    assert warning["error_code"] == "authorization_expiring"
    assert warning["checkout_payment_id"] == pid
    assert "capture or void" in warning["message"]
    assert b"paybridge_expiring_authorizations_total 1.0" in container.metrics.render()


async def test_a_captured_authorization_is_never_warned_about(
    client: httpx.AsyncClient, container: Container, clock: ShiftedClock
) -> None:
    pid = await create(client, capture=False)
    await container.authorization_expiry.check()
    captured = await act(client, pid, "captures", {})
    await confirm(container, pid, str(captured.json()["action_id"]))

    clock.advance(7 * DAY)
    assert await container.authorization_expiry.check() == (0, 0)
    assert await warnings(container) == []


async def test_payment_expired_sets_expired_and_the_order_shows_its_other_payment(
    client: httpx.AsyncClient, container: Container
) -> None:
    lapsed = await create(client, capture=False)
    paid = await create(client, capture=False)
    captured = await act(client, paid, "captures", {})
    await confirm(container, paid, str(captured.json()["action_id"]))

    async with container.uow() as uow:
        payment = await uow.payments.get_by_checkout_id(lapsed, for_update=True)
        assert payment is not None
        expiry = ActionFact(
            action_key=f"evt_expired_{lapsed}",
            type=ActionType.EXPIRY,
            status=ActionStatus.SUCCEEDED,
            source="webhook",
        )
        await apply_facts(uow, payment, [expiry], now=container.clock())
        await uow.commit()

    assert (await view(client, lapsed))["status"] == "Expired"
    order_id = (await view(client, lapsed))["order_id"]
    listing = (await client.get("/v1/payments", params={"order_id": order_id})).json()
    assert (listing["order"]["payment_id"], listing["order"]["status"]) == (paid, "Captured")
    assert await container.authorization_expiry.check() == (0, 0)  # not open any more
