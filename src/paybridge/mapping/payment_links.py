"""Payment Link request + order context + markets → the Checkout.com `POST /payment-links`
body, and a stored link → its public read model (pure).

The plan runs before the Idempotency-Key is claimed, so a refusal is a plain 422 naming the
request field, leaving nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paybridge.adapters.checkout.models import (
    Customer,
    LinkBilling,
    LinkMethod,
    PaymentLinkRequest,
    ThreeDs,
)
from paybridge.domain.markets import (
    Market,
    MarketBook,
    MarketError,
    ThreeDsDecision,
    decide_capture,
    decide_three_ds,
    resolve_market,
)
from paybridge.domain.money import format_major
from paybridge.domain.payment_methods import CARD_METHODS, METHOD_RULES, Need, method_violations
from paybridge.errors import ErrorDetail, ValidationFailed
from paybridge.mapping.checkout_payments import PaymentOptions, to_address, to_metadata
from paybridge.mapping.orders import OrderContext
from paybridge.mapping.payment_plan import OrderFields
from paybridge.schemas.payment_links import PaymentLinkCreate, PaymentLinkRead

LINK_ID_METADATA_KEY = "paybridge_link_id"
"""Metadata Checkout.com copies onto the link's payment: how its webhooks find the link."""

# The local methods both a market and a Payment Link page know, by the same name.
_LOCAL_LINK_METHODS: tuple[LinkMethod, ...] = ("ideal", "bancontact", "p24", "eps", "multibanco")
_EVERY_NEED = frozenset(Need)


@dataclass(frozen=True, slots=True)
class LinkPlan:
    market: Market
    capture: bool
    three_ds: ThreeDsDecision
    methods: tuple[LinkMethod, ...]


def _usable(name: str, ctx: OrderContext, country: str) -> bool:
    """Whether the method may be offered for this currency and country (its other needs are
    the page's to collect)."""
    problems = method_violations(
        name,
        currency=ctx.currency,
        country=country,
        success_url=None,
        failure_url=None,
        available=_EVERY_NEED,
    )
    return not any(p.subject in ("currency", "country") for p in problems)


def link_methods(market: Market, ctx: OrderContext, country: str) -> tuple[LinkMethod, ...]:
    """What the market accepts that a link page can offer for this order."""
    offered: list[LinkMethod] = []
    if market.payment_methods & CARD_METHODS:
        offered.append("card")
    for name in _LOCAL_LINK_METHODS:
        if name in market.payment_methods and name in METHOD_RULES and _usable(name, ctx, country):
            offered.append(name)
    return tuple(offered)


def _refused(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message, code=code, details=[ErrorDetail(field=field, code=code, message=message)]
    )


def plan_link(
    request: PaymentLinkCreate, ctx: OrderContext, book: MarketBook, *, fields: OrderFields
) -> LinkPlan:
    """Market, capture, 3DS and the methods the page offers. Raises `ValidationFailed`:
    `billing_country_required`, `no_market`, `capture_not_allowed`, `three_ds_not_allowed`,
    `payment_method_not_allowed` (a narrowed method the market or currency refuses) or
    `no_link_methods` (nothing a link could offer for this currency)."""
    country = ctx.billing.country if ctx.billing else None
    if country is None:
        raise _refused(
            fields.country,
            "billing_country_required",
            "a Payment Link needs the billing country (Checkout.com requires billing.address)",
        )
    try:
        market = resolve_market(book, store=request.store, country=country, currency=ctx.currency)
        capture = decide_capture(market, requested=request.capture)
        three_ds = decide_three_ds(
            market, requested=request.three_ds, amount_minor=ctx.amount_minor, currency=ctx.currency
        )
    except MarketError as error:
        field = {"order": fields.currency}.get(error.subject, error.subject)
        raise _refused(field, error.code, error.message) from None
    offered = link_methods(market, ctx, country)
    if not offered:
        raise _refused(
            fields.currency,
            "no_link_methods",
            f"market {market.key!r} has no method a Payment Link can offer in {ctx.currency} "
            f"for {country}",
        )
    methods = offered
    if request.allow_payment_methods is not None:
        refused = [
            ErrorDetail(
                field=f"allow_payment_methods[{index}]",
                code="payment_method_not_allowed",
                message=f"{name!r} cannot be offered for this order (can: {', '.join(offered)})",
            )
            for index, name in enumerate(request.allow_payment_methods)
            if name not in offered
        ]
        if refused:
            raise ValidationFailed(
                "A method in allow_payment_methods cannot be offered for this order.",
                code="payment_method_not_allowed",
                details=refused,
            )
        methods = tuple(dict.fromkeys(request.allow_payment_methods))
    return LinkPlan(market=market, capture=capture, three_ds=three_ds, methods=methods)


def to_payment_link_request(
    ctx: OrderContext, request: PaymentLinkCreate, plan: LinkPlan, *, link_record_id: str
) -> PaymentLinkRequest:
    """The billing address is the Order's; Salesforce ids and the link id travel in metadata
    (copied onto the payment, so its webhooks find the Order and the link)."""
    assert ctx.billing is not None  # plan_link refused an order without a billing country
    options = PaymentOptions(
        processing_channel_id=plan.market.processing_channel_id,
        capture=plan.capture,
        three_ds=plan.three_ds.enabled,
        payment_record_id=link_record_id,
        market=plan.market.key,
        extra_metadata=plan.market.metadata,
    )
    metadata = to_metadata(ctx, options)
    # The payment made through the link gets its own record id when its webhook arrives.
    del metadata["paybridge_payment_id"]
    metadata[LINK_ID_METADATA_KEY] = link_record_id
    three_ds = None
    if "card" in plan.methods and plan.three_ds.enabled:
        three_ds = ThreeDs(enabled=True, attempt_n3d=True if plan.three_ds.attempt_n3d else None)
    return PaymentLinkRequest(
        amount=ctx.amount_minor,
        currency=ctx.currency,
        reference=ctx.order_number,
        description=request.description,
        billing=LinkBilling(address=to_address(ctx.billing)),
        customer=Customer(email=ctx.email, name=ctx.name) if ctx.email or ctx.name else None,
        processing_channel_id=plan.market.processing_channel_id,
        expires_in=request.expires_in,
        capture=plan.capture,
        three_ds=three_ds,
        allow_payment_methods=list(plan.methods),
        return_url=request.return_url,
        locale=request.locale,
        metadata=metadata,
    )


LINK_STATUSES = {"Active": "Active", "Payment Received": "Paid", "Expired": "Expired"}
"""Checkout.com's link status → paybridge's."""


def link_read(row: Any) -> PaymentLinkRead:
    return PaymentLinkRead(
        link_id=row["checkout_link_id"],
        url=row["url"],
        status=row["status"],
        expires_at=row["expires_at"],
        amount=format_major(row["amount_minor"], row["currency"]),
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        reference=row["reference"],
        order_id=row["order_id"],
        payment_id=row["checkout_payment_id"],
        created_at=row["created_at"],
    )
