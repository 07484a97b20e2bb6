"""Order context + payment options → the Checkout.com `POST /payments` body (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from paybridge.adapters.checkout.models import (
    Address,
    Customer,
    IdSource,
    PaymentRequest,
    PaymentSource,
    ThreeDs,
    TokenSource,
)
from paybridge.mapping.orders import BillingAddress, OrderContext
from paybridge.schemas.payments import InstrumentMethod, PaymentMethod, TokenMethod


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


def to_address(billing: BillingAddress) -> Address:
    return Address(
        address_line1=billing.address_line1,
        address_line2=billing.address_line2,
        city=billing.city,
        state=billing.state,
        zip=billing.zip,
        country=billing.country,
    )


def to_source(method: PaymentMethod, billing: BillingAddress | None) -> PaymentSource:
    """The billing address travels in `source.billing_address` (the spec has no top-level one)."""
    address = to_address(billing) if billing is not None else None
    if isinstance(method, TokenMethod):
        return TokenSource(token=method.token, billing_address=address)
    if isinstance(method, InstrumentMethod):
        return IdSource(id=method.id)
    raise TypeError(f"unsupported payment method {type(method).__name__}")


def to_metadata(ctx: OrderContext, options: PaymentOptions) -> dict[str, str | int | float | bool]:
    """Flat metadata echoed in every webhook: how an event finds its Salesforce records."""
    metadata: dict[str, str | int | float | bool] = {
        "sf_order_id": ctx.order_id,
        "paybridge_payment_id": options.payment_record_id,
    }
    if ctx.account_id:
        metadata["sf_account_id"] = ctx.account_id
    if ctx.contact_id:
        metadata["sf_contact_id"] = ctx.contact_id
    if options.market:
        metadata["market"] = options.market
    metadata.update(dict(options.extra_metadata))
    return metadata


def to_payment_request(
    ctx: OrderContext, method: PaymentMethod, options: PaymentOptions
) -> PaymentRequest:
    customer = Customer(email=ctx.email, name=ctx.name) if ctx.email or ctx.name else None
    return PaymentRequest(
        source=to_source(method, ctx.billing),
        amount=ctx.amount_minor,
        currency=ctx.currency,
        reference=ctx.order_number,
        customer=customer,
        processing_channel_id=options.processing_channel_id,
        capture=options.capture,
        three_ds=ThreeDs(enabled=True) if options.three_ds else None,
        success_url=options.success_url,
        failure_url=options.failure_url,
        metadata=to_metadata(ctx, options),
    )
