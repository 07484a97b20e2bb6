"""The settlement fold: duplicates, corrections and reorderings converge on one figure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from paybridge.domain.settlement import (
    Settlement,
    fold_settlements,
    later,
    minor_units,
    settlement_totals,
)

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def figure(
    *, action: str = "act_capture", at: datetime = T0, fees: int = 30, gross: int | None = 1000
) -> Settlement:
    return Settlement(
        checkout_action_id=action,
        checkout_payment_id="pay_one",
        action_type="capture",
        currency="EUR",
        processed_at=at,
        settled_on=at.date(),
        gross_minor=gross,
        processing_fees_minor=fees,
        scheme_fees_minor=2,
        interchange_minor=3,
    )


def test_net_is_gross_less_every_fee_and_unknown_without_gross() -> None:
    assert figure(fees=30).fees_minor == 35
    assert figure(fees=30).net_minor == 965
    assert figure(gross=None).net_minor is None


def test_a_duplicate_changes_nothing() -> None:
    one = figure()
    assert later(one, one) == one
    assert fold_settlements([one, one, one]) == {"act_capture": one}


def test_a_correction_replaces_the_earlier_figure_in_either_order() -> None:
    first = figure(fees=30)
    correction = figure(fees=25, at=T0 + timedelta(days=1))
    assert later(first, correction) == correction
    assert later(correction, first) == correction
    assert fold_settlements([correction, first])["act_capture"].net_minor == 970


def test_actions_are_kept_apart() -> None:
    capture = figure()
    refund = figure(action="act_refund", gross=-400, fees=0)
    assert set(fold_settlements([capture, refund])) == {"act_capture", "act_refund"}


def test_totals_sum_per_settlement_currency() -> None:
    capture = figure()
    refund = figure(action="act_refund", gross=-400, fees=0)
    [totals] = settlement_totals([capture, refund])
    assert (totals.gross_minor, totals.fees_minor, totals.net_minor) == (600, 40, 560)
    assert totals.settled_actions == 2


def test_sub_minor_amounts_round_half_to_even_once() -> None:
    assert minor_units(Decimal("0.19526938"), "USD") == 20
    assert minor_units(Decimal("0.125"), "EUR") == 12
    assert minor_units(Decimal("0.135"), "EUR") == 14
    assert minor_units(Decimal("12.5"), "JPY") == 12
    assert minor_units(Decimal("-1.005"), "EUR") == -100


observations = st.lists(
    st.builds(
        figure,
        action=st.sampled_from(["act_a", "act_b"]),
        at=st.sampled_from([T0, T0 + timedelta(hours=1), T0 + timedelta(days=2)]),
        fees=st.integers(min_value=0, max_value=50),
    ),
    max_size=8,
)


@given(observations=observations, data=st.data())
def test_any_order_and_any_repetition_gives_the_same_figures(
    observations: list[Settlement], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(observations))
    repeated = shuffled + data.draw(st.lists(st.sampled_from(observations or [figure()])))
    expected = fold_settlements(observations)
    folded = fold_settlements(repeated)
    assert {key: folded[key] for key in expected} == expected
    for key, standing in expected.items():
        assert standing.processed_at == max(
            o.processed_at for o in observations if o.checkout_action_id == key
        )


def test_settled_on_is_a_date() -> None:
    assert figure().settled_on == date(2026, 12, 4)
