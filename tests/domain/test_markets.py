"""Market resolution, allowed methods, and the capture and 3DS policies with their overrides."""

from __future__ import annotations

import pytest

from paybridge.domain.markets import (
    CaptureMode,
    Market,
    MarketBook,
    MarketError,
    ThreeDsDecision,
    ThreeDsPolicy,
    ThreeDsRule,
    check_method_allowed,
    decide_capture,
    decide_three_ds,
    default_book,
    resolve_market,
)

CARDS = frozenset({"token", "instrument"})


def market(key: str, **fields: object) -> Market:
    values: dict[str, object] = {
        "key": key,
        "processing_channel_id": f"pc_{key}",
        "payment_methods": CARDS,
        **fields,
    }
    return Market(**values)  # type: ignore[arg-type]


BOOK = MarketBook(
    (
        market("nl-web", countries=frozenset({"NL"}), currencies=frozenset({"EUR"})),
        market("benelux", countries=frozenset({"NL", "BE", "LU"})),
        market("gbp", currencies=frozenset({"GBP"})),
        market("phone"),
        market("intl"),
    ),
    default="intl",
)


@pytest.mark.parametrize(
    ("store", "country", "currency", "expected"),
    [
        ("phone", "NL", "EUR", "phone"),  # explicit store wins over every rule
        ("nl-web", "US", "USD", "nl-web"),  # even when its rule would not match
        (None, "NL", "EUR", "nl-web"),  # first matching rule, in file order
        (None, "NL", "USD", "benelux"),  # country-only rule: any currency
        (None, "BE", "EUR", "benelux"),
        (None, "DE", "GBP", "gbp"),  # currency-only rule: any country
        (None, None, "GBP", "gbp"),
        (None, None, "EUR", "intl"),  # a country rule never matches an unknown country
        (None, "US", "USD", "intl"),  # no rule matches: the default
    ],
)
def test_resolution_order(
    store: str | None, country: str | None, currency: str, expected: str
) -> None:
    chosen = resolve_market(BOOK, store=store, country=country, currency=currency)

    assert chosen.key == expected


def test_a_market_without_a_rule_is_not_matched_by_country_or_currency() -> None:
    book = MarketBook((market("phone"),))

    with pytest.raises(MarketError) as caught:
        resolve_market(book, store=None, country="NL", currency="EUR")

    assert (caught.value.subject, caught.value.code) == ("order", "no_market")
    assert caught.value.message == (
        "no market matches country NL and currency EUR, and there is no default market: "
        "send `store`"
    )


def test_unknown_store_is_no_market() -> None:
    with pytest.raises(MarketError) as caught:
        resolve_market(BOOK, store="fr-web", country="FR", currency="EUR")

    assert (caught.value.subject, caught.value.code) == ("store", "no_market")
    assert caught.value.message == "no market has the key 'fr-web'"


def test_method_must_be_listed_by_the_market() -> None:
    check_method_allowed(BOOK.markets[0], "token")

    with pytest.raises(MarketError) as caught:
        check_method_allowed(BOOK.markets[0], "ideal")

    assert caught.value.code == "payment_method_not_allowed"
    assert caught.value.message == (
        "market 'nl-web' does not accept 'ideal' (accepts: instrument, token)"
    )


@pytest.mark.parametrize(
    ("mode", "overridable", "requested", "expected"),
    [
        (CaptureMode.AUTO, False, None, True),
        (CaptureMode.MANUAL, False, None, False),
        (CaptureMode.MANUAL, False, False, False),  # same as the market: fine
        (CaptureMode.MANUAL, True, True, True),
        (CaptureMode.AUTO, True, False, False),
    ],
)
def test_capture_mode_and_allowed_overrides(
    mode: CaptureMode, overridable: bool, requested: bool | None, expected: bool
) -> None:
    shop = market("shop", capture=mode, capture_overridable=overridable)

    assert decide_capture(shop, requested=requested) is expected


def test_capture_override_outside_policy_is_refused() -> None:
    shop = market("shop", capture=CaptureMode.MANUAL)

    with pytest.raises(MarketError) as caught:
        decide_capture(shop, requested=True)

    assert (caught.value.subject, caught.value.code) == ("capture", "capture_not_allowed")
    assert caught.value.message == (
        "market 'shop' captures manual: capture must be false or left out"
    )


ABOVE = ThreeDsRule(policy=ThreeDsPolicy.ABOVE, above_minor={"EUR": 3000, "JPY": 5000})


@pytest.mark.parametrize(
    ("amount_minor", "currency", "enabled"),
    [
        (2999, "EUR", False),
        (3000, "EUR", False),  # at the threshold: not above it
        (3001, "EUR", True),
        (5001, "JPY", True),
        (100, "GBP", True),  # no threshold for the currency: 3DS
    ],
)
def test_three_ds_by_amount_threshold(amount_minor: int, currency: str, enabled: bool) -> None:
    shop = market("shop", three_ds=ABOVE)

    decision = decide_three_ds(shop, requested=None, amount_minor=amount_minor, currency=currency)

    assert decision == ThreeDsDecision(enabled=enabled)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (ThreeDsPolicy.ALWAYS, ThreeDsDecision(enabled=True)),
        (ThreeDsPolicy.NEVER, ThreeDsDecision(enabled=False)),
        (ThreeDsPolicy.ATTEMPT, ThreeDsDecision(enabled=True, attempt_n3d=True)),
    ],
)
def test_three_ds_policies(policy: ThreeDsPolicy, expected: ThreeDsDecision) -> None:
    shop = market("shop", three_ds=ThreeDsRule(policy=policy))

    assert decide_three_ds(shop, requested=None, amount_minor=100, currency="EUR") == expected


def test_asking_for_three_ds_below_the_threshold_is_within_policy() -> None:
    shop = market("shop", three_ds=ABOVE)

    decision = decide_three_ds(shop, requested=True, amount_minor=100, currency="EUR")

    assert decision.enabled


@pytest.mark.parametrize(
    ("rule", "requested", "amount_minor"),
    [
        (ABOVE, False, 3001),
        (ThreeDsRule(policy=ThreeDsPolicy.ALWAYS), False, 100),
        (ThreeDsRule(policy=ThreeDsPolicy.ATTEMPT), False, 100),
        (ThreeDsRule(policy=ThreeDsPolicy.NEVER), True, 100),
    ],
)
def test_three_ds_override_outside_policy_is_refused(
    rule: ThreeDsRule, requested: bool, amount_minor: int
) -> None:
    shop = market("shop", three_ds=rule)

    with pytest.raises(MarketError) as caught:
        decide_three_ds(shop, requested=requested, amount_minor=amount_minor, currency="EUR")

    assert (caught.value.subject, caught.value.code) == ("three_ds", "three_ds_not_allowed")


def test_above_refusal_message_names_the_amount() -> None:
    shop = market("shop", three_ds=ABOVE)

    with pytest.raises(MarketError) as caught:
        decide_three_ds(shop, requested=False, amount_minor=3001, currency="EUR")

    assert caught.value.message == (
        "market 'shop' 3DS policy is above for this amount: three_ds must be true or left out"
    )


def test_overridable_policy_lets_the_caller_choose() -> None:
    shop = market("shop", three_ds=ThreeDsRule(policy=ThreeDsPolicy.ATTEMPT, overridable=True))

    off = decide_three_ds(shop, requested=False, amount_minor=100, currency="EUR")
    on = decide_three_ds(shop, requested=True, amount_minor=100, currency="EUR")

    assert off == ThreeDsDecision(enabled=False)
    assert on == ThreeDsDecision(enabled=True, attempt_n3d=True)


def test_default_book_is_one_open_market_from_the_global_settings() -> None:
    book = default_book(
        processing_channel_id="pc_global", methods=CARDS, capture=True, three_ds=False
    )

    only = resolve_market(book, store=None, country="JP", currency="JPY")
    assert only.key == "default"
    assert only.processing_channel_id == "pc_global"
    assert decide_capture(only, requested=False) is False
    assert decide_three_ds(only, requested=True, amount_minor=1, currency="JPY").enabled
    assert not decide_three_ds(only, requested=None, amount_minor=1, currency="JPY").enabled
