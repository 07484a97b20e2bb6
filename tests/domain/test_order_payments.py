"""An Order's fields from all its payments: latest approved shown, amounts summed, any order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from paybridge.domain.order_payments import OrderPayment, OrderTotals, order_totals

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def pay(
    n: int,
    status: str,
    *,
    captured: int = 0,
    refunded: int = 0,
    currency: str = "EUR",
    minutes: int | None = None,
) -> OrderPayment:
    return OrderPayment(
        checkout_payment_id=f"pay_{n:026d}",
        status=status,
        currency=currency,
        captured_minor=captured,
        refunded_minor=refunded,
        created_at=T0 + timedelta(minutes=n if minutes is None else minutes),
    )


def totals_in_every_listing(payments: list[OrderPayment]) -> OrderTotals | None:
    results = {order_totals(listing) for listing in itertools.permutations(payments)}
    assert len(results) == 1
    return results.pop()


def test_an_order_without_payments_has_no_totals() -> None:
    assert order_totals([]) is None


def test_late_failure_of_an_earlier_attempt_does_not_hide_the_paid_one() -> None:
    abandoned = pay(1, "Declined")  # its failure webhook came last; it was created first
    paid = pay(2, "Captured", captured=14990)
    assert totals_in_every_listing([abandoned, paid]) == OrderTotals(
        checkout_payment_id=paid.checkout_payment_id,
        status="Captured",
        currency="EUR",
        captured_minor=14990,
        refunded_minor=0,
        payments=2,
    )


def test_a_later_declined_try_does_not_replace_an_approved_payment() -> None:
    approved = pay(1, "Authorized")
    retry_declined = pay(2, "Declined")
    totals = totals_in_every_listing([approved, retry_declined])
    assert totals is not None
    assert (totals.checkout_payment_id, totals.status) == (
        approved.checkout_payment_id,
        "Authorized",
    )


def test_only_failures_show_the_latest_failure() -> None:
    totals = totals_in_every_listing([pay(1, "Declined"), pay(2, "Expired"), pay(3, "Pending")])
    assert totals is not None
    assert (totals.checkout_payment_id, totals.status) == (
        pay(3, "Pending").checkout_payment_id,
        "Pending",
    )


def test_split_tender_sums_and_shows_the_latest_approved() -> None:
    first = pay(1, "Partially Refunded", captured=10000, refunded=2500)
    second = pay(2, "Captured", captured=4990)
    third = pay(3, "Declined")
    totals = totals_in_every_listing([first, second, third])
    assert totals is not None
    assert totals.checkout_payment_id == second.checkout_payment_id
    assert (totals.captured_minor, totals.refunded_minor, totals.payments) == (14990, 2500, 3)


def test_amounts_in_another_currency_are_not_added() -> None:
    euro = pay(1, "Captured", captured=10000)
    pounds = pay(2, "Declined", captured=0, currency="GBP")
    dollars = pay(3, "Voided", currency="USD")
    totals = totals_in_every_listing([euro, pounds, dollars])
    assert totals is not None
    assert (totals.checkout_payment_id, totals.currency, totals.captured_minor) == (
        dollars.checkout_payment_id,
        "USD",
        0,
    )


def test_same_creation_time_is_decided_by_id() -> None:
    a = pay(1, "Authorized", minutes=5)
    b = pay(2, "Authorized", minutes=5)
    totals = totals_in_every_listing([a, b])
    assert totals is not None
    assert totals.checkout_payment_id == b.checkout_payment_id
