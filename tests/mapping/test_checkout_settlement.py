"""Financial actions (the spec's example and variations of its shape) → settlements."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from paybridge.adapters.checkout.financial_actions import FinancialAction, FinancialActionPage
from paybridge.mapping.checkout_settlement import line_kind, settlements_of, to_settlement
from tests.adapters.checkout.payloads import load_sample

SAMPLE = "spec-examples/get-financial-actions-200-response.json"


def spec_action(**changes: Any) -> dict[str, Any]:
    action: dict[str, Any] = copy.deepcopy(load_sample(SAMPLE)["data"][0])
    action.update(changes)
    return action


def line(kind: str, amount: float | str, currency: str = "USD") -> dict[str, Any]:
    """A breakdown line shaped like the spec's example, with another type and amount."""
    shaped: dict[str, Any] = copy.deepcopy(spec_action()["breakdown"][0])
    shaped |= {"breakdown_type": kind, "holding_currency_amount": amount}
    shaped["holding_currency"] = currency
    return shaped


def test_the_spec_example_is_a_capture_with_one_scheme_fee() -> None:
    page = FinancialActionPage.model_validate(load_sample(SAMPLE))

    [settlement] = settlements_of(page.data)

    assert settlement.checkout_action_id == "act_wsnyzbzmr2huxcekoj7qqhxwuy"
    assert settlement.checkout_payment_id == "pay_qqufsd3rfnqufngwklghlxrzpm"
    assert settlement.action_type == "capture"
    assert settlement.currency == "USD"
    assert settlement.scheme_fees_minor == 20  # 0.19526938 USD
    assert settlement.processing_fees_minor == settlement.interchange_minor == 0
    assert settlement.gross_minor is None
    assert settlement.net_minor is None
    assert settlement.settled_on == date(2022, 2, 18)
    assert settlement.processed_at == datetime(2022, 2, 18, 13, 0, 12, 357000, tzinfo=UTC)


def test_a_full_breakdown_gives_every_fee_and_the_net() -> None:
    action = FinancialAction.model_validate(
        spec_action(
            breakdown=[
                line("Gross", 100.00),
                line("Interchange Passthrough Fee", 0.2),
                line("Scheme Fixed Fee", 0.02),
                line("Scheme Variable Fee", 0.0137),
                line("Processing Fee", 0.5),
                line("Premium Variable Fee", 0.1),
                line("Rolling Reserve Deducted", 5),
            ]
        )
    )

    settlement = to_settlement(action)

    assert settlement is not None
    assert settlement.gross_minor == 10000
    assert settlement.interchange_minor == 20
    assert settlement.scheme_fees_minor == 3  # 0.0337 summed, then rounded once
    assert settlement.processing_fees_minor == 60
    assert settlement.net_minor == 10000 - 83


def test_a_refund_keeps_its_sign_and_lines_in_another_holding_currency_are_left_out() -> None:
    action = FinancialAction.model_validate(
        spec_action(
            action_type="Refund",
            breakdown=[
                line("Gross", -40, "EUR"),
                line("Processing Fee", 0.25, "EUR"),
                line("Gross", 9, "GBP"),
            ],
        )
    )

    settlement = to_settlement(action)

    assert settlement is not None
    assert settlement.currency == "EUR"
    assert settlement.gross_minor == -4000
    assert settlement.net_minor == -4025


@pytest.mark.parametrize("action_type", ["Authorization", "Chargeback", "Card Verification"])
def test_other_action_types_are_not_settlements_of_an_action(action_type: str) -> None:
    assert (
        to_settlement(FinancialAction.model_validate(spec_action(action_type=action_type))) is None
    )


def test_an_action_without_breakdown_is_not_settled_yet() -> None:
    assert to_settlement(FinancialAction.model_validate(spec_action(breakdown=[]))) is None


def test_a_payout_id_is_read_when_checkout_sends_one() -> None:
    action = FinancialAction.model_validate(spec_action(payout_id="po_abc"))
    settlement = to_settlement(action)
    assert settlement is not None
    assert settlement.payout_id == "po_abc"


@pytest.mark.parametrize(
    ("breakdown_type", "kind"),
    [
        ("Gross", "gross"),
        ("Interchange Passthrough Fee", "interchange"),
        ("Scheme Fixed Fee", "scheme"),
        ("Scheme Variable Fee", "scheme"),
        ("Processing Fee", "processing"),
        ("Gateway Fee", "processing"),
        ("Authentication Fixed Fee", "processing"),
        ("Rolling Reserve Released", None),
    ],
)
def test_breakdown_types_sort_into_kinds(breakdown_type: str, kind: str | None) -> None:
    assert line_kind(breakdown_type) == kind
