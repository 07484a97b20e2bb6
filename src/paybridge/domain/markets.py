"""Markets: which Checkout.com channel, methods, capture mode and 3DS policy apply to a sale.

Resolution order: the request's explicit `store`; else the first market whose rule matches
the billing country and currency; else the book's default market; else no market (a 422).
A caller may override capture or 3DS only where the market's policy leaves the choice open.
Pure: the refusals are `MarketError`s naming their subject; callers turn them into field
errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class CaptureMode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class ThreeDsPolicy(StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    ATTEMPT = "attempt"
    """3DS with `attempt_n3d`: fall back to a non-3DS authorization when 3DS is unavailable."""
    ABOVE = "above"
    """3DS when the amount is strictly above the currency's threshold (no threshold: always)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreeDsRule:
    """`above_minor`: per currency, the amount (minor units) above which 3DS is required.
    `overridable`: the caller may switch 3DS either way; otherwise only towards the policy
    (asking for 3DS below an `above` threshold is always allowed)."""

    policy: ThreeDsPolicy
    above_minor: Mapping[str, int] = field(default_factory=dict)
    overridable: bool = False


@dataclass(frozen=True, slots=True)
class Descriptor:
    """What the shopper's statement shows (Checkout.com `billing_descriptor`)."""

    name: str
    city: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Market:
    """One storefront or business unit. A market with neither `countries` nor `currencies`
    is picked only by its key (the request's `store`) or as the default."""

    key: str
    processing_channel_id: str | None
    payment_methods: frozenset[str]
    countries: frozenset[str] = frozenset()
    currencies: frozenset[str] = frozenset()
    secret_key_env: str | None = None
    capture: CaptureMode = CaptureMode.AUTO
    capture_overridable: bool = False
    three_ds: ThreeDsRule = field(default_factory=lambda: ThreeDsRule(policy=ThreeDsPolicy.NEVER))
    success_url: str | None = None
    failure_url: str | None = None
    billing_descriptor: Descriptor | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    # Hours an authorization of a method lasts, where it differs from Checkout.com's default.
    authorization_validity_h: tuple[tuple[str, float], ...] = ()

    @property
    def has_rule(self) -> bool:
        return bool(self.countries or self.currencies)

    def matches(self, *, country: str | None, currency: str) -> bool:
        """An empty list matches anything; a country rule never matches an unknown country."""
        if not self.has_rule:
            return False
        if self.countries and country not in self.countries:
            return False
        return not self.currencies or currency in self.currencies


@dataclass(frozen=True, slots=True)
class MarketBook:
    """The markets in file order (rule order matters) and the default market's key."""

    markets: tuple[Market, ...]
    default: str | None = None

    def get(self, key: str) -> Market | None:
        return next((market for market in self.markets if market.key == key), None)


class MarketError(Exception):
    """A request the markets refuse. `subject`: `store`, `order` (country and currency),
    `payment_method`, `capture` or `three_ds`."""

    def __init__(self, subject: str, code: str, message: str) -> None:
        super().__init__(message)
        self.subject = subject
        self.code = code
        self.message = message


def resolve_market(
    book: MarketBook, *, store: str | None, country: str | None, currency: str
) -> Market:
    if store is not None:
        market = book.get(store)
        if market is None:
            raise MarketError("store", "no_market", f"no market has the key {store!r}")
        return market
    for market in book.markets:
        if market.matches(country=country, currency=currency):
            return market
    if book.default is not None:
        market = book.get(book.default)
        if market is not None:
            return market
    where = f"country {country}" if country else "an unknown country"
    raise MarketError(
        "order",
        "no_market",
        f"no market matches {where} and currency {currency}, and there is no default "
        "market: send `store`",
    )


def check_method_allowed(market: Market, method: str) -> None:
    if method not in market.payment_methods:
        allowed = ", ".join(sorted(market.payment_methods))
        raise MarketError(
            "payment_method",
            "payment_method_not_allowed",
            f"market {market.key!r} does not accept {method!r} (accepts: {allowed})",
        )


def decide_capture(market: Market, *, requested: bool | None) -> bool:
    default = market.capture is CaptureMode.AUTO
    if requested is None or requested == default:
        return default
    if not market.capture_overridable:
        raise MarketError(
            "capture",
            "capture_not_allowed",
            f"market {market.key!r} captures {market.capture.value}: capture must be "
            f"{str(default).lower()} or left out",
        )
    return requested


@dataclass(frozen=True, slots=True)
class ThreeDsDecision:
    enabled: bool
    attempt_n3d: bool = False


def decide_three_ds(
    market: Market, *, requested: bool | None, amount_minor: int, currency: str
) -> ThreeDsDecision:
    """The policy's answer for this amount, or the caller's where the policy allows it."""
    rule = market.three_ds
    attempt = rule.policy is ThreeDsPolicy.ATTEMPT
    if rule.policy is ThreeDsPolicy.ABOVE:
        threshold = rule.above_minor.get(currency)
        required = threshold is None or amount_minor > threshold
    else:
        required = rule.policy in (ThreeDsPolicy.ALWAYS, ThreeDsPolicy.ATTEMPT)
    if requested is None or requested == required:
        return ThreeDsDecision(enabled=required, attempt_n3d=attempt and required)
    if rule.overridable:
        return ThreeDsDecision(enabled=requested, attempt_n3d=attempt and requested)
    if requested and rule.policy is ThreeDsPolicy.ABOVE:
        return ThreeDsDecision(enabled=True)
    raise MarketError(
        "three_ds",
        "three_ds_not_allowed",
        f"market {market.key!r} 3DS policy is {rule.policy.value}"
        + (" for this amount" if rule.policy is ThreeDsPolicy.ABOVE else "")
        + f": three_ds must be {str(required).lower()} or left out",
    )


def default_book(
    *, processing_channel_id: str | None, methods: frozenset[str], capture: bool, three_ds: bool
) -> MarketBook:
    """No markets file: one market from the global settings; the caller picks capture
    and 3DS freely."""
    market = Market(
        key="default",
        processing_channel_id=processing_channel_id,
        payment_methods=methods,
        capture=CaptureMode.AUTO if capture else CaptureMode.MANUAL,
        capture_overridable=True,
        three_ds=ThreeDsRule(
            policy=ThreeDsPolicy.ALWAYS if three_ds else ThreeDsPolicy.NEVER, overridable=True
        ),
    )
    return MarketBook((market,), default=market.key)
