"""Order context + payment options → the Checkout.com `POST /payments` body (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paybridge.adapters.checkout.models import (
    Address,
    ApmSource,
    BillingDescriptor,
    Customer,
    IdSource,
    PaymentRequest,
    PaymentSource,
    ThreeDs,
    TokenSource,
)
from paybridge.domain.markets import Descriptor
from paybridge.domain.payment_methods import iban_country
from paybridge.mapping.orders import BillingAddress, OrderContext
from paybridge.schemas.payments import (
    BancontactMethod,
    EpsMethod,
    IdealMethod,
    InstrumentMethod,
    KlarnaMethod,
    MultibancoMethod,
    P24Method,
    PaymentMethod,
    PayPalMethod,
    SepaMethod,
    TokenMethod,
)

RESERVED_METADATA_KEYS = frozenset(
    {"sf_order_id", "sf_account_id", "sf_contact_id", "paybridge_payment_id", "market"}
)
"""Metadata paybridge itself relies on (webhooks find their records by it): never overridden."""


@dataclass(frozen=True, slots=True)
class PaymentOptions:
    """Decisions taken before mapping (market rules, caller overrides)."""

    processing_channel_id: str | None
    capture: bool
    three_ds: bool
    payment_record_id: str
    market: str | None = None
    success_url: str | None = None
    failure_url: str | None = None
    extra_metadata: tuple[tuple[str, str], ...] = ()
    attempt_n3d: bool = False
    billing_descriptor: Descriptor | None = None


def to_address(billing: BillingAddress) -> Address:
    return Address(
        address_line1=billing.address_line1,
        address_line2=billing.address_line2,
        city=billing.city,
        state=billing.state,
        zip=billing.zip,
        country=billing.country,
    )


def _order_text(ctx: OrderContext, limit: int) -> str:
    return f"Order {ctx.order_number}"[:limit]


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    """Leave out what is unknown: Checkout.com reads a missing field and a null differently."""
    return {key: value for key, value in values.items() if value is not None}


def _holder_address(billing: BillingAddress | None, *, street_number: bool) -> dict[str, Any]:
    if billing is None:
        raise ValueError("a billing address is required for this method")
    line2 = billing.address_line2
    if street_number and line2 is None:
        # SEPA's schema requires `address_line2` ("street number"); Salesforce keeps the
        # number in the street line, so an empty second line is the honest value.
        line2 = ""
    return _compact(
        {
            "address_line1": billing.address_line1,
            "address_line2": line2,
            "city": billing.city,
            "zip": billing.zip,
            "country": billing.country,
        }
    )


def to_local_source(
    method: PaymentMethod, ctx: OrderContext, *, descriptor: Descriptor | None = None
) -> ApmSource:
    """A local method's source, field names as in the spec's `PaymentRequest…Source` schemas.

    Constraints (country, currency, needed order data) are checked before this is called
    (`mapping.payment_plan`); a missing value here is a programming error.
    """
    statement = descriptor.name if descriptor is not None else None
    body: dict[str, Any]
    if isinstance(method, IdealMethod):
        body = {
            "type": "ideal",
            "bic": method.bic,
            "description": method.description or _order_text(ctx, 35),
            "language": method.language,
        }
    elif isinstance(method, BancontactMethod):
        body = {
            "type": "bancontact",
            "payment_country": "BE",
            "account_holder_name": method.account_holder_name,
            "billing_descriptor": statement,
            "language": method.language,
        }
    elif isinstance(method, EpsMethod):
        body = {"type": "eps", "purpose": method.purpose or _order_text(ctx, 27)}
    elif isinstance(method, P24Method):
        email = method.account_holder_email or ctx.email
        if email is None:
            raise ValueError("Przelewy24 needs an account holder email")
        body = {
            "type": "p24",
            "payment_country": "PL",
            "account_holder_name": method.account_holder_name,
            "account_holder_email": email,
            "billing_descriptor": statement,
        }
    elif isinstance(method, MultibancoMethod):
        body = {
            "type": "multibanco",
            "payment_country": "PT",
            "account_holder_name": method.account_holder_name,
            "billing_descriptor": statement,
        }
    elif isinstance(method, KlarnaMethod):
        email = method.email or ctx.email
        if email is None:
            raise ValueError("Klarna needs an account holder email")
        holder = {
            "first_name": method.first_name,
            "last_name": method.last_name,
            "email": email,
            "phone": {"country_code": method.phone.country_code, "number": method.phone.number},
            "billing_address": _holder_address(ctx.billing, street_number=False),
            "date_of_birth": method.date_of_birth.isoformat() if method.date_of_birth else None,
        }
        body = {"type": "klarna", "account_holder": _compact(holder)}
    elif isinstance(method, PayPalMethod):
        body = {"type": "paypal"}
    elif isinstance(method, SepaMethod):
        body = {
            "type": "sepa",
            "country": iban_country(method.iban),
            "account_number": method.iban,
            "bank_code": method.bic,
            "currency": ctx.currency,
            "mandate_id": method.mandate_id,
            "date_of_signature": method.date_of_signature.isoformat(),
            "account_holder": {
                "first_name": method.first_name,
                "last_name": method.last_name,
                "billing_address": _holder_address(ctx.billing, street_number=True),
            },
        }
    else:
        raise TypeError(f"not a local payment method: {type(method).__name__}")
    return ApmSource.model_validate(_compact(body))


def to_source(
    method: PaymentMethod,
    billing: BillingAddress | None,
    *,
    ctx: OrderContext | None = None,
    descriptor: Descriptor | None = None,
) -> PaymentSource:
    """The billing address travels in `source.billing_address` (the spec has no top-level one);
    local methods need the order context (`ctx`) for their own fields."""
    address = to_address(billing) if billing is not None else None
    if isinstance(method, TokenMethod):
        return TokenSource(token=method.token, billing_address=address)
    if isinstance(method, InstrumentMethod):
        return IdSource(id=method.id)
    if ctx is None:
        raise ValueError(f"{method.type}: a local method needs the order context")
    return to_local_source(method, ctx, descriptor=descriptor)


def to_metadata(ctx: OrderContext, options: PaymentOptions) -> dict[str, str | int | float | bool]:
    """Flat metadata echoed in every webhook: how an event finds its Salesforce records."""
    # Market fields first, so paybridge's own keys always win.
    metadata: dict[str, str | int | float | bool] = {
        key: value for key, value in options.extra_metadata if key not in RESERVED_METADATA_KEYS
    }
    metadata["sf_order_id"] = ctx.order_id
    metadata["paybridge_payment_id"] = options.payment_record_id
    if ctx.account_id:
        metadata["sf_account_id"] = ctx.account_id
    if ctx.contact_id:
        metadata["sf_contact_id"] = ctx.contact_id
    if options.market:
        metadata["market"] = options.market
    return metadata


def to_payment_request(
    ctx: OrderContext, method: PaymentMethod, options: PaymentOptions
) -> PaymentRequest:
    """3DS and the `billing_descriptor` object apply to cards only; local methods carry their
    statement text in the source where their schema has one."""
    customer = Customer(email=ctx.email, name=ctx.name) if ctx.email or ctx.name else None
    card = isinstance(method, TokenMethod | InstrumentMethod)
    descriptor = options.billing_descriptor
    three_ds = None
    if card and options.three_ds:
        three_ds = ThreeDs(enabled=True, attempt_n3d=True if options.attempt_n3d else None)
    return PaymentRequest(
        source=to_source(method, ctx.billing, ctx=ctx, descriptor=descriptor),
        amount=ctx.amount_minor,
        currency=ctx.currency,
        reference=ctx.order_number,
        customer=customer,
        processing_channel_id=options.processing_channel_id,
        capture=options.capture,
        three_ds=three_ds,
        billing_descriptor=BillingDescriptor(name=descriptor.name, city=descriptor.city)
        if card and descriptor is not None
        else None,
        success_url=options.success_url,
        failure_url=options.failure_url,
        metadata=to_metadata(ctx, options),
    )
