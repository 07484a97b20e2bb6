"""Payment creation and read models of the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from paybridge.domain.status import ActionStatus, ActionType, PaymentStatus

_FORBID = ConfigDict(extra="forbid", frozen=True)

SalesforceRecordIn = Annotated[
    dict[str, Any],
    Field(
        description="A Salesforce record exactly as Apex `JSON.serialize` produces it; any "
        "fields (custom ones included) are accepted, the configured field map picks the ones "
        "paybridge uses."
    ),
]


class TokenMethod(BaseModel):
    """A Checkout.com token from Frames, Flow, Apple Pay or Google Pay."""

    model_config = _FORBID
    type: Literal["token"] = Field(description="Discriminator.")
    token: str = Field(
        pattern=r"^tok_\w{26}$",
        description="Checkout.com card or wallet token.",
        examples=["tok_4gzeau5o2uqubbk6fufs3m7p54"],
    )


class InstrumentMethod(BaseModel):
    """A stored Checkout.com instrument (a card saved earlier)."""

    model_config = _FORBID
    type: Literal["instrument"] = Field(description="Discriminator.")
    id: str = Field(
        pattern=r"^src_\w{26}$",
        description="Checkout.com instrument id.",
        examples=["src_wmlfc3zyhqzehihu7giusaaawu"],
    )


PaymentMethod = Annotated[TokenMethod | InstrumentMethod, Field(discriminator="type")]


class PaymentCreate(BaseModel):
    """What Salesforce sends to take a payment for an Order."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "order": {
                        "attributes": {"type": "Order"},
                        "Id": "8015g00000AbCdEAAV",
                        "OrderNumber": "00000100",
                        "AccountId": "0015g00000XyZaBAAV",
                        "TotalAmount": 149.90,
                        "CurrencyIsoCode": "EUR",
                        "BillingStreet": "Keizersgracht 1",
                        "BillingCity": "Amsterdam",
                        "BillingPostalCode": "1015 CJ",
                        "BillingCountryCode": "NL",
                    },
                    "customer": {
                        "attributes": {"type": "Contact"},
                        "Id": "0035g00000QwErTAAV",
                        "Email": "ana@example.com",
                        "FirstName": "Ana",
                        "LastName": "de Vries",
                    },
                    "payment_method": {"type": "token", "token": "tok_4gzeau5o2uqubbk6fufs3m7p54"},
                    "store": "nl-web",
                    "capture": False,
                }
            ]
        },
    )

    order: SalesforceRecordIn
    customer: SalesforceRecordIn | None = None
    payment_method: PaymentMethod
    store: str | None = Field(
        default=None, max_length=64, description="Market key (site or business unit)."
    )
    capture: bool | None = Field(
        default=None, description="Capture immediately; default: the market's capture mode."
    )
    three_ds: bool | None = Field(
        default=None, description="Ask for 3-D Secure; default: the market's 3DS policy."
    )
    success_url: str | None = Field(
        default=None, max_length=1024, pattern=r"^https?://", description="3DS/APM return URL."
    )
    failure_url: str | None = Field(
        default=None, max_length=1024, pattern=r"^https?://", description="3DS/APM failure URL."
    )


class AmountsRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    authorized: str = Field(description="Major units.", examples=["149.90"])
    captured: str = Field(examples=["0.00"])
    refunded: str = Field(examples=["0.00"])
    available_to_capture: str = Field(examples=["149.90"])
    available_to_refund: str = Field(examples=["0.00"])
    available_to_void: str = Field(examples=["149.90"])


class ActionRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    action_id: str = Field(
        description="Checkout.com action id.", examples=["act_y3oqhf46pyzuxjbcn2giaqnb44"]
    )
    type: ActionType
    amount: str | None = Field(description="Major units.", examples=["50.00"])
    status: ActionStatus
    response_code: str | None = None
    response_summary: str | None = None
    reference: str | None = None
    requested_at: datetime | None = None
    processed_at: datetime | None = None


class SalesforceSyncRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = Field(description="Current version of the payment's state.")
    synced_version: int = Field(description="Version last written to Salesforce.")
    last_synced_at: datetime | None = None
    last_error: str | None = None


class DisputeSummaryRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    dispute_id: str = Field(examples=["dsp_rbhwd2qrg13uhrp2newf"])
    status: str
    category: str | None = None
    amount: str | None = None
    evidence_required_by: datetime | None = None


class PaymentRead(BaseModel):
    """A payment as paybridge knows it; `payment_id` is the cross-system reference."""

    model_config = ConfigDict(frozen=True)

    payment_id: str = Field(
        description="Checkout.com payment id.", examples=["pay_mbabizu24mvu3mela5njyhpit4"]
    )
    status: PaymentStatus
    approved: bool | None = Field(description="Checkout.com's `approved` of the authorization.")
    amount: str = Field(description="Requested amount in major units.", examples=["149.90"])
    amount_minor: int = Field(description="Same in Checkout.com minor units.", examples=[14990])
    currency: str = Field(examples=["EUR"])
    reference: str | None = Field(description="The Order's OrderNumber.", examples=["00000100"])
    response_code: str | None = Field(examples=["10000"])
    response_summary: str | None = Field(examples=["Approved"])
    redirect_url: str | None = Field(description="Where to send the shopper for 3DS or an APM.")
    order_id: str | None = Field(
        description="Salesforce Order Id.", examples=["8015g00000AbCdEAAV"]
    )
    market: str | None = None
    payment_method: str | None = None
    disputed: bool = False
    amounts: AmountsRead
    actions: list[ActionRead]
    disputes: list[DisputeSummaryRead] = Field(default_factory=list)
    salesforce: SalesforceSyncRead
    created_at: datetime
    updated_at: datetime


class PaymentList(BaseModel):
    model_config = ConfigDict(frozen=True)

    payments: list[PaymentRead]
