"""Payment creation and read models of the public API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from paybridge.domain.iban import is_valid_iban
from paybridge.domain.payment_methods import SEPA_COUNTRIES, iban_country
from paybridge.domain.status import ActionStatus, ActionType, PaymentStatus
from paybridge.schemas.settlement import ActionSettlementRead, SettlementTotalsRead

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


AccountHolderName = Annotated[
    str,
    Field(
        min_length=3,
        max_length=100,
        description="The account holder's full name, as the bank knows it.",
        examples=["Ana de Vries"],
    ),
]


class IdealMethod(BaseModel):
    """iDEAL (Netherlands, EUR): bank redirect, captured at once."""

    model_config = _FORBID
    type: Literal["ideal"] = Field(description="Discriminator.")
    bic: str = Field(
        pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$",
        description="The shopper's bank (BIC, 8 or 11 characters; iDEAL's issuer id).",
        examples=["INGBNL2A"],
    )
    description: str | None = Field(
        default=None,
        min_length=1,
        max_length=35,
        pattern=r"^[^<>]*$",
        description="Shown by the bank; default: `Order <OrderNumber>`.",
        examples=["Order 00000100"],
    )
    language: Literal["nl", "en"] | None = Field(
        default=None, description="Language of the bank's page.", examples=["nl"]
    )


class BancontactMethod(BaseModel):
    """Bancontact (Belgium, EUR): bank redirect, captured at once."""

    model_config = _FORBID
    type: Literal["bancontact"] = Field(description="Discriminator.")
    account_holder_name: AccountHolderName
    language: Literal["fr", "nl", "de", "en"] | None = Field(
        default=None, description="Language of the payment page.", examples=["nl"]
    )


class EpsMethod(BaseModel):
    """EPS (Austria, EUR): bank redirect, captured at once."""

    model_config = _FORBID
    type: Literal["eps"] = Field(description="Discriminator.")
    purpose: str | None = Field(
        default=None,
        min_length=1,
        max_length=27,
        description="Shown on the shopper's bank statement; default: `Order <OrderNumber>`.",
        examples=["Order 00000100"],
    )


class P24Method(BaseModel):
    """Przelewy24 (Poland, PLN or EUR): bank redirect, captured at once."""

    model_config = _FORBID
    type: Literal["p24"] = Field(description="Discriminator.")
    account_holder_name: AccountHolderName
    account_holder_email: EmailStr | None = Field(
        default=None,
        max_length=254,
        description="The account holder's email; default: the customer's email.",
        examples=["jan.kowalski@example.com"],
    )


class MultibancoMethod(BaseModel):
    """Multibanco (Portugal, EUR): payment reference paid at an ATM or in online banking."""

    model_config = _FORBID
    type: Literal["multibanco"] = Field(description="Discriminator.")
    account_holder_name: AccountHolderName


class PhoneIn(BaseModel):
    """A phone number in two parts, as Checkout.com takes it."""

    model_config = _FORBID
    country_code: str = Field(
        pattern=r"^\+?[0-9]{1,6}$", description="International dialling code.", examples=["+31"]
    )
    number: str = Field(
        pattern=r"^[0-9 ]{6,25}$",
        description="Number without the country code.",
        examples=["612345678"],
    )


class KlarnaMethod(BaseModel):
    """Klarna (pay later / over time): redirect; billing address from the Order."""

    model_config = _FORBID
    type: Literal["klarna"] = Field(description="Discriminator.")
    first_name: str = Field(
        min_length=1, max_length=100, description="Account holder's first name.", examples=["Ana"]
    )
    last_name: str = Field(
        min_length=1,
        max_length=100,
        description="Account holder's last name.",
        examples=["de Vries"],
    )
    email: EmailStr | None = Field(
        default=None,
        max_length=255,
        description="Account holder's email; default: the customer's email.",
        examples=["ana@example.com"],
    )
    phone: PhoneIn = Field(description="Account holder's phone.")
    date_of_birth: date | None = Field(
        default=None, description="Account holder's date of birth.", examples=["1990-05-17"]
    )


class PayPalMethod(BaseModel):
    """PayPal: redirect to PayPal; nothing else to send."""

    model_config = _FORBID
    type: Literal["paypal"] = Field(description="Discriminator.")


class SepaMethod(BaseModel):
    """SEPA Direct Debit (EUR) against a mandate the shopper signed; billing address from the
    Order. No redirect: the outcome follows by webhook."""

    model_config = _FORBID
    type: Literal["sepa"] = Field(description="Discriminator.")
    iban: str = Field(
        min_length=15,
        max_length=34,
        description="The account's IBAN, without spaces; its country must be in SEPA.",
        examples=["NL91ABNA0417164300"],
    )
    bic: str = Field(
        pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$",
        description="The account's bank (BIC).",
        examples=["ABNANL2A"],
    )
    mandate_id: str = Field(
        min_length=1,
        max_length=35,
        pattern=r"^[A-Za-z0-9+?/:().,' -]+$",
        description="The mandate reference (SEPA characters, at most 35).",
        examples=["MANDATE-00000100"],
    )
    date_of_signature: date = Field(
        description="When the shopper signed the mandate.", examples=["2026-11-20"]
    )
    first_name: str = Field(
        min_length=1, max_length=100, description="Account holder's first name.", examples=["Ana"]
    )
    last_name: str = Field(
        min_length=1,
        max_length=100,
        description="Account holder's last name.",
        examples=["de Vries"],
    )

    @field_validator("iban", mode="before")
    @classmethod
    def _compact_iban(cls, value: object) -> object:
        return value.replace(" ", "").upper() if isinstance(value, str) else value

    @field_validator("iban")
    @classmethod
    def _check_iban(cls, value: str) -> str:
        if not is_valid_iban(value):
            raise ValueError("not a valid IBAN (format or check digits)")
        if iban_country(value) not in SEPA_COUNTRIES:
            raise ValueError(f"{iban_country(value)} is not a SEPA country")
        return value


PaymentMethod = Annotated[
    TokenMethod
    | InstrumentMethod
    | IdealMethod
    | BancontactMethod
    | EpsMethod
    | P24Method
    | MultibancoMethod
    | KlarnaMethod
    | PayPalMethod
    | SepaMethod,
    Field(discriminator="type"),
]

PAYMENT_METHOD_TYPES = frozenset(
    {
        "token",
        "instrument",
        "ideal",
        "bancontact",
        "eps",
        "p24",
        "multibanco",
        "klarna",
        "paypal",
        "sepa",
    }
)
"""The `payment_method.type` values (the union's discriminator tags)."""


EXAMPLE_ORDER: dict[str, Any] = {
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
}
"""The Salesforce Order of the request examples (payments and payment links)."""

EXAMPLE_CUSTOMER: dict[str, Any] = {
    "attributes": {"type": "Contact"},
    "Id": "0035g00000QwErTAAV",
    "Email": "ana@example.com",
    "FirstName": "Ana",
    "LastName": "de Vries",
}
"""The Salesforce Contact of the request examples."""


class PaymentCreate(BaseModel):
    """What Salesforce sends to take a payment for an Order."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "order": EXAMPLE_ORDER,
                    "customer": EXAMPLE_CUSTOMER,
                    "payment_method": {"type": "token", "token": "tok_4gzeau5o2uqubbk6fufs3m7p54"},
                    "store": "nl-web",
                    "capture": False,
                },
                {
                    "order": {
                        "attributes": {"type": "Order"},
                        "Id": "8015g00000AbCdEAAV",
                        "OrderNumber": "00000100",
                        "TotalAmount": 149.90,
                        "CurrencyIsoCode": "EUR",
                        "BillingCountryCode": "NL",
                    },
                    "payment_method": {"type": "ideal", "bic": "INGBNL2A"},
                    "success_url": "https://shop.example.com/checkout/success",
                    "failure_url": "https://shop.example.com/checkout/failure",
                },
            ]
        },
    )

    order: SalesforceRecordIn
    customer: SalesforceRecordIn | None = None
    payment_method: PaymentMethod
    store: str | None = Field(
        default=None,
        max_length=64,
        description="Market key (site or business unit); when left out, the market is "
        "matched on the billing country and currency, else the default market is used.",
        examples=["nl-web"],
    )
    capture: bool | None = Field(
        default=None,
        description="Capture immediately; default: the market's capture mode. A value other "
        "than the market's is refused unless the market allows overrides. Bank redirects and "
        "SEPA are always captured.",
    )
    three_ds: bool | None = Field(
        default=None,
        description="Ask for 3-D Secure (cards only); default: the market's 3DS policy. A "
        "value the policy forbids is refused.",
    )
    success_url: str | None = Field(
        default=None,
        max_length=1024,
        pattern=r"^https?://",
        description="3DS/APM return URL; default: the market's.",
        examples=["https://shop.example.com/checkout/success"],
    )
    failure_url: str | None = Field(
        default=None,
        max_length=1024,
        pattern=r"^https?://",
        description="3DS/APM failure URL; default: the market's.",
        examples=["https://shop.example.com/checkout/failure"],
    )


class AmountsRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    authorized: str = Field(description="Major units.", examples=["149.90"])
    captured: str = Field(examples=["0.00"])
    refunded: str = Field(examples=["0.00"])
    available_to_capture: str = Field(examples=["149.90"])
    available_to_refund: str = Field(examples=["0.00"])
    available_to_void: str = Field(examples=["149.90"])
    lost_in_disputes: str = Field(
        default="0",
        description="Disputed amounts lost (disputes lost, accepted, expired or lost in "
        "arbitration), in the payment's currency.",
        examples=["0.00"],
    )


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
    settlement: ActionSettlementRead | None = Field(
        default=None, description="Fees and settlement (captures and refunds, once settled)."
    )


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
    settlement: list[SettlementTotalsRead] = Field(
        default_factory=list,
        description="Settled captures and refunds summed, per settlement currency (empty "
        "until Checkout.com settles any).",
    )
    authorization_expires_at: datetime | None = Field(
        default=None,
        description="When the authorization lapses if not captured (open authorizations).",
    )
    salesforce: SalesforceSyncRead
    created_at: datetime
    updated_at: datetime


class OrderPaymentsRead(BaseModel):
    """What the Salesforce Order shows of all its payments (the same fields paybridge writes
    to it): the latest approved payment (else the latest), and sums over the payments."""

    model_config = ConfigDict(frozen=True)

    payment_id: str = Field(
        description="The payment the Order shows: its latest approved one, else its latest.",
        examples=["pay_mbabizu24mvu3mela5njyhpit4"],
    )
    status: PaymentStatus = Field(description="That payment's status.")
    currency: str = Field(description="That payment's currency.", examples=["EUR"])
    captured: str = Field(
        description="Captured over all the Order's payments in that currency, major units.",
        examples=["149.90"],
    )
    refunded: str = Field(
        description="Refunded over all the Order's payments in that currency, major units.",
        examples=["0.00"],
    )
    payments: int = Field(description="How many payments the Order has.", examples=[2])


class PaymentList(BaseModel):
    model_config = ConfigDict(frozen=True)

    payments: list[PaymentRead]
    order: OrderPaymentsRead | None = Field(
        default=None, description="The Order's fields as computed from all its payments."
    )
