"""Which payment methods exist and where each one may be used (currency, country, URLs).

Pure rules, checked before Checkout.com is called. Local methods are bound to their home
markets (iDEAL: EUR in NL); redirect methods need success and failure URLs; most bank
methods are captured at once. Home markets: Bancontact, P24 and Multibanco from the NAS
2023 spec's `payment_country` enums, iDEAL and EPS from their schemes (NL, AT, EUR); the
Klarna, PayPal and SEPA tables are the providers' published lists, not in the shared
reference: check them against the merchant's Checkout.com contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

_EUR = frozenset({"EUR"})

# EU member states plus the non-EU members of the SEPA scheme.
SEPA_COUNTRIES = frozenset(
    {
        *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),
        *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
        *("IS", "LI", "NO", "CH", "GB", "MC", "SM", "VA", "AD"),
    }
)

# Klarna's European markets, each with its local currency only.
_KLARNA = {
    **dict.fromkeys(("AT", "BE", "DE", "ES", "FI", "FR", "IE", "IT", "NL", "PT"), _EUR),
    "CH": frozenset({"CHF"}),
    "DK": frozenset({"DKK"}),
    "GB": frozenset({"GBP"}),
    "NO": frozenset({"NOK"}),
    "PL": frozenset({"PLN"}),
    "SE": frozenset({"SEK"}),
}

# Currencies PayPal settles; any buyer country.
_PAYPAL_CURRENCIES = frozenset(
    {
        *("AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS"),
        *("JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD"),
    }
)


class Need(StrEnum):
    """Order data a method cannot be sent without (beyond the method's own fields)."""

    EMAIL = "email"
    BILLING_STREET = "billing_street"
    BILLING_CITY = "billing_city"
    BILLING_ZIP = "billing_zip"
    BILLING_COUNTRY = "billing_country"


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodRule:
    """Where a method may be used.

    `currencies_by_country`: the billing countries allowed, each with its currencies (None:
    any country, then `currencies` applies; None there too: any currency).
    """

    name: str
    label: str
    redirect: bool = True
    manual_capture: bool = True
    currencies_by_country: Mapping[str, frozenset[str]] | None = None
    currencies: frozenset[str] | None = None
    needs: frozenset[Need] = field(default_factory=frozenset)


CARD_METHODS = frozenset({"token", "instrument"})
"""Cards and wallets (Frames, Flow, Apple Pay, Google Pay tokens; stored instruments)."""

_ADDRESS = frozenset({Need.BILLING_CITY, Need.BILLING_ZIP, Need.BILLING_COUNTRY})

METHOD_RULES: Mapping[str, MethodRule] = {
    rule.name: rule
    for rule in (
        # A card may be redirected for 3DS; its URLs then default to the account's.
        MethodRule(name="token", label="Card or wallet token", redirect=False),
        MethodRule(name="instrument", label="Stored card", redirect=False),
        MethodRule(
            name="ideal",
            label="iDEAL",
            manual_capture=False,
            currencies_by_country={"NL": _EUR},
        ),
        MethodRule(
            name="bancontact",
            label="Bancontact",
            manual_capture=False,
            currencies_by_country={"BE": _EUR},
        ),
        MethodRule(
            name="eps", label="EPS", manual_capture=False, currencies_by_country={"AT": _EUR}
        ),
        MethodRule(
            name="p24",
            label="Przelewy24",
            manual_capture=False,
            currencies_by_country={"PL": frozenset({"PLN", "EUR"})},
            needs=frozenset({Need.EMAIL}),
        ),
        MethodRule(
            name="multibanco",
            label="Multibanco",
            manual_capture=False,
            currencies_by_country={"PT": _EUR},
        ),
        MethodRule(
            name="klarna",
            label="Klarna",
            currencies_by_country=_KLARNA,
            needs=_ADDRESS | {Need.EMAIL},
        ),
        MethodRule(name="paypal", label="PayPal", currencies=_PAYPAL_CURRENCIES),
        # SEPA Direct Debit collects against a signed mandate: no redirect.
        MethodRule(
            name="sepa",
            label="SEPA Direct Debit",
            redirect=False,
            manual_capture=False,
            currencies_by_country=dict.fromkeys(SEPA_COUNTRIES, _EUR),
            needs=_ADDRESS | {Need.BILLING_STREET},
        ),
    )
}

KNOWN_METHODS = frozenset(METHOD_RULES)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule; `subject` names what is wrong in domain terms, the caller maps it
    to a request field: `currency`, `country`, `success_url`, `failure_url`, `capture`,
    `iban` or a `Need` value."""

    subject: str
    code: str
    message: str


def method_violations(
    name: str,
    *,
    currency: str,
    country: str | None,
    success_url: str | None,
    failure_url: str | None,
    available: frozenset[Need],
) -> list[Violation]:
    """Everything that stops `name` from being used for this order; empty when usable."""
    rule = METHOD_RULES[name]
    problems: list[Violation] = []
    allowed = rule.currencies_by_country
    if allowed is not None:
        if country is None:
            problems.append(
                Violation("country", "missing", f"{rule.label} needs the billing country")
            )
        elif country not in allowed:
            where = ", ".join(sorted(allowed))
            problems.append(
                Violation(
                    "country",
                    "unsupported_country",
                    f"{rule.label} is not available in {country} (only {where})",
                )
            )
        elif currency not in allowed[country]:
            accepted = ", ".join(sorted(allowed[country]))
            problems.append(
                Violation(
                    "currency",
                    "unsupported_currency",
                    f"{rule.label} in {country} takes {accepted}, not {currency}",
                )
            )
    elif rule.currencies is not None and currency not in rule.currencies:
        problems.append(
            Violation(
                "currency",
                "unsupported_currency",
                f"{rule.label} does not take {currency}",
            )
        )
    if rule.redirect:
        for subject, url in (("success_url", success_url), ("failure_url", failure_url)):
            if not url:
                problems.append(
                    Violation(
                        subject,
                        "missing",
                        f"{rule.label} redirects the shopper: {subject} is required "
                        "(in the request or the market)",
                    )
                )
    for need in sorted(rule.needs - available):
        problems.append(Violation(need.value, "missing", f"{rule.label} needs the {_NEED[need]}"))
    return problems


_NEED = {
    Need.EMAIL: "customer's email",
    Need.BILLING_STREET: "billing street",
    Need.BILLING_CITY: "billing city",
    Need.BILLING_ZIP: "billing postal code",
    Need.BILLING_COUNTRY: "billing country",
}


def captures_at_once(name: str) -> bool:
    return not METHOD_RULES[name].manual_capture


def capture_violation(name: str, *, capture: bool) -> Violation | None:
    """Bank redirects and direct debits are collected at once: they cannot be authorized
    only (`capture: false`)."""
    rule = METHOD_RULES[name]
    if capture or rule.manual_capture:
        return None
    return Violation(
        "capture", "capture_required", f"{rule.label} is captured at once: capture must be true"
    )


def iban_country(iban: str) -> str:
    return iban[:2]
