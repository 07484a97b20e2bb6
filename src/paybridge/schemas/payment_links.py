"""Payment Link request and read models of the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from paybridge.schemas.payments import EXAMPLE_CUSTOMER, EXAMPLE_ORDER, SalesforceRecordIn

LinkStatus = Literal["Active", "Paid", "Expired"]
LinkMethodName = Literal[
    "card", "sofort", "ideal", "knet", "giropay", "bancontact", "p24", "eps", "multibanco"
]
LinkLocale = Literal[
    "ar", "da-DK", "de-DE", "el", "en-GB", "es-ES", "fi-FI", "fil-PH", "fr-FR", "hi-IN",
    "id-ID", "it-IT", "ja-JP", "ms-MY", "nb-NO", "nl-NL", "pt-PT", "sv-SE", "th-TH", "vi-VN",
    "zh-CN", "zh-HK", "zh-TW",
]  # fmt: skip


class PaymentLinkCreate(BaseModel):
    """What Salesforce sends to get a Checkout.com Payment Link for an Order (no card data:
    the shopper pays on Checkout.com's page)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "order": EXAMPLE_ORDER,
                    "customer": EXAMPLE_CUSTOMER,
                    "store": "nl-web",
                    "expires_in": 604800,
                    "locale": "nl-NL",
                    "return_url": "https://shop.example.com/thanks",
                }
            ]
        },
    )

    order: SalesforceRecordIn
    customer: SalesforceRecordIn | None = None
    store: str | None = Field(
        default=None,
        max_length=64,
        description="Market key; when left out, matched on billing country and currency.",
        examples=["nl-web"],
    )
    expires_in: int | None = Field(
        default=None,
        ge=1,
        le=1_209_600,
        description="Seconds the link stays payable (Checkout.com: 1 s to 14 days; default "
        "24 h). A link cannot be withdrawn earlier: this is the only control.",
        examples=[604800],
    )
    capture: bool | None = Field(
        default=None, description="Capture at once; default: the market's capture mode."
    )
    three_ds: bool | None = Field(
        default=None, description="Ask for 3-D Secure on cards; default: the market's policy."
    )
    allow_payment_methods: list[LinkMethodName] | None = Field(
        default=None,
        min_length=1,
        description="Narrow the methods the page offers; default: every method the market "
        "accepts that a link can offer for this currency and country.",
        examples=[["card", "ideal"]],
    )
    return_url: str | None = Field(
        default=None,
        max_length=255,
        pattern=r"^https?://",
        description="Where the success page's button sends the shopper.",
        examples=["https://shop.example.com/thanks"],
    )
    locale: LinkLocale | None = Field(
        default=None, description="Language of the page (default en-GB).", examples=["nl-NL"]
    )
    description: str | None = Field(
        default=None, max_length=100, description="Shown on the page.", examples=["Invoice 42"]
    )


class PaymentLinkRead(BaseModel):
    """A Payment Link as paybridge knows it; `payment_id` is set once it is paid."""

    model_config = ConfigDict(frozen=True)

    link_id: str = Field(description="Checkout.com link id.", examples=["pl_ELqQJXdXzabU"])
    url: str | None = Field(
        description="The page to send the shopper to.",
        examples=["https://pay.sandbox.checkout.com/link/pl_ELqQJXdXzabU"],
    )
    status: LinkStatus = Field(
        description="`Active` (payable; a declined try leaves it Active), `Paid` (a payment "
        "through it was approved), `Expired`.",
        examples=["Active"],
    )
    expires_at: datetime | None = Field(examples=["2026-12-12T17:00:00Z"])
    amount: str = Field(description="Major units.", examples=["149.90"])
    amount_minor: int = Field(examples=[14990])
    currency: str = Field(examples=["EUR"])
    reference: str = Field(description="The Order's OrderNumber.", examples=["00000100"])
    order_id: str = Field(description="Salesforce Order Id.", examples=["8015g00000AbCdEAAV"])
    payment_id: str | None = Field(
        description="The Checkout.com payment made through the link (null until paid).",
        examples=[None],
    )
    created_at: datetime


class PaymentLinkList(BaseModel):
    model_config = ConfigDict(frozen=True)

    links: list[PaymentLinkRead]
