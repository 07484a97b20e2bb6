"""Request + order context + markets → the decisions for one payment (pure).

Runs before the Idempotency-Key is claimed, so a refusal is a plain 422 that leaves nothing
behind. Domain refusals (`MarketError`, method `Violation`s) become field-named
`ValidationFailed`s here, with the Salesforce field names the request actually used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paybridge.domain.markets import (
    Market,
    MarketBook,
    MarketError,
    ThreeDsDecision,
    check_method_allowed,
    decide_capture,
    decide_three_ds,
    resolve_market,
)
from paybridge.domain.payment_methods import (
    CARD_METHODS,
    Need,
    capture_violation,
    captures_at_once,
    method_violations,
)
from paybridge.errors import ErrorDetail, ValidationFailed
from paybridge.mapping.checkout_payments import PaymentOptions
from paybridge.mapping.field_map import FieldMap
from paybridge.mapping.orders import OrderContext
from paybridge.schemas.payments import KlarnaMethod, P24Method, PaymentCreate


@dataclass(frozen=True, slots=True)
class OrderFields:
    """Dotted request paths of the order data the rules look at, for error details."""

    currency: str = "order.CurrencyIsoCode"
    country: str = "order.BillingCountryCode"
    street: str = "order.BillingStreet"
    city: str = "order.BillingCity"
    zip: str = "order.BillingPostalCode"
    email: str = "customer.Email"


def _used(record: dict[str, Any] | None, names: list[str], prefix: str) -> str:
    """The candidate field the order mapping read (first with a value), else the first one."""
    for name in names:
        if record is not None and record.get(name) not in (None, ""):
            return f"{prefix}.{name}"
    return f"{prefix}.{names[0]}"


def order_fields(
    order: dict[str, Any], customer: dict[str, Any] | None, fmap: FieldMap
) -> OrderFields:
    names = fmap.order
    return OrderFields(
        currency=_used(order, names.currency, "order"),
        country=_used(order, names.billing_country, "order"),
        street=_used(order, names.billing_street, "order"),
        city=_used(order, names.billing_city, "order"),
        zip=_used(order, names.billing_postal_code, "order"),
        email=_used(customer, fmap.customer.email, "customer"),
    )


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    """What the market and the caller decided; `options()` adds the payment record id."""

    market: Market
    capture: bool
    three_ds: ThreeDsDecision
    success_url: str | None
    failure_url: str | None

    def options(self, payment_record_id: str) -> PaymentOptions:
        market = self.market
        return PaymentOptions(
            processing_channel_id=market.processing_channel_id,
            capture=self.capture,
            three_ds=self.three_ds.enabled,
            attempt_n3d=self.three_ds.attempt_n3d,
            payment_record_id=payment_record_id,
            market=market.key,
            success_url=self.success_url,
            failure_url=self.failure_url,
            extra_metadata=market.metadata,
            billing_descriptor=market.billing_descriptor,
        )


def _refusal(error: MarketError, fields: OrderFields) -> ValidationFailed:
    paths = {
        "store": ["store"],
        "order": [fields.country, fields.currency],
        "payment_method": ["payment_method.type"],
    }.get(error.subject, [error.subject])
    return ValidationFailed(
        error.message,
        code=error.code,
        details=[ErrorDetail(field=path, code=error.code, message=error.message) for path in paths],
    )


def _available(request: PaymentCreate, ctx: OrderContext) -> frozenset[Need]:
    method = request.payment_method
    own_email = (isinstance(method, P24Method) and method.account_holder_email is not None) or (
        isinstance(method, KlarnaMethod) and method.email is not None
    )
    billing = ctx.billing
    present = {
        Need.EMAIL: own_email or ctx.email is not None,
        Need.BILLING_STREET: billing is not None and billing.address_line1 is not None,
        Need.BILLING_CITY: billing is not None and billing.city is not None,
        Need.BILLING_ZIP: billing is not None and billing.zip is not None,
        Need.BILLING_COUNTRY: billing is not None and billing.country is not None,
    }
    return frozenset(need for need, ok in present.items() if ok)


def _subject_path(subject: str, method: str, fields: OrderFields) -> str:
    own_email = {"p24": "payment_method.account_holder_email", "klarna": "payment_method.email"}
    return {
        "currency": fields.currency,
        "country": fields.country,
        Need.EMAIL.value: own_email.get(method, fields.email),
        Need.BILLING_STREET.value: fields.street,
        Need.BILLING_CITY.value: fields.city,
        Need.BILLING_ZIP.value: fields.zip,
        Need.BILLING_COUNTRY.value: fields.country,
    }.get(subject, subject)


def plan_payment(
    request: PaymentCreate, ctx: OrderContext, book: MarketBook, *, fields: OrderFields
) -> PaymentPlan:
    """Pick the market, check the method against it and against its own constraints, and
    settle capture, 3DS and the redirect URLs. Raises `ValidationFailed` (422): `no_market`,
    `payment_method_not_allowed`, `capture_not_allowed`, `three_ds_not_allowed`, or
    `validation_failed` listing every constraint the method breaks."""
    method = request.payment_method.type
    country = ctx.billing.country if ctx.billing else None
    try:
        market = resolve_market(book, store=request.store, country=country, currency=ctx.currency)
        check_method_allowed(market, method)
        # A method collected at once ignores the market's manual mode.
        capture = captures_at_once(method) or decide_capture(market, requested=request.capture)
        three_ds = ThreeDsDecision(enabled=False)
        if method in CARD_METHODS:
            three_ds = decide_three_ds(
                market,
                requested=request.three_ds,
                amount_minor=ctx.amount_minor,
                currency=ctx.currency,
            )
    except MarketError as error:
        raise _refusal(error, fields) from None

    success_url = request.success_url or market.success_url
    failure_url = request.failure_url or market.failure_url
    violations = method_violations(
        method,
        currency=ctx.currency,
        country=country,
        success_url=success_url,
        failure_url=failure_url,
        available=_available(request, ctx),
    )
    if request.capture is not None:
        # Bank redirects and direct debits are collected at once; `false` cannot be honoured.
        refused = capture_violation(method, capture=request.capture)
        if refused is not None:
            violations.append(refused)
    details = [
        ErrorDetail(field=_subject_path(v.subject, method, fields), code=v.code, message=v.message)
        for v in violations
    ]
    if method not in CARD_METHODS and request.three_ds:
        details.append(
            ErrorDetail(
                field="three_ds",
                code="three_ds_not_applicable",
                message=f"3-D Secure applies to cards, not to {method!r}",
            )
        )
    if details:
        raise ValidationFailed(
            f"{method!r} cannot be used for this order.", code="validation_failed", details=details
        )
    return PaymentPlan(
        market=market,
        capture=capture,
        three_ds=three_ds,
        success_url=success_url,
        failure_url=failure_url,
    )
