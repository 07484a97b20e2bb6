"""Checkout.com wire models (NAS API, 2023 spec field names): strict requests, tolerant responses.

Requests refuse unknown fields and serialize with `to_wire()` (aliases, no `None`s). Responses
ignore what they do not know, so a new Checkout.com field never breaks a payment. Amounts are
integers in minor units; no float ever carries money here.
"""

from __future__ import annotations

from datetime import datetime
from ipaddress import IPv4Address
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
)

AmountMinor = Annotated[int, Field(strict=True, ge=0, le=999_999_999)]
"""Minor units, at most 9 digits (Checkout.com's limit); 0 only for card verification."""

Reference = Annotated[str, Field(min_length=1, max_length=50)]
MetadataValue = str | int | float | bool
Metadata = dict[str, MetadataValue]
"""One level deep, primitive values only (the spec's rule for `metadata`)."""


class _WireRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body to send: Checkout.com field names, optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _WireResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- requests -------------------------------------------------------------------------------


class Address(_WireRequest):
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=50)
    state: str | None = Field(default=None, max_length=2)
    zip: str | None = Field(default=None, max_length=50)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class Phone(_WireRequest):
    country_code: str | None = Field(default=None, min_length=1, max_length=7)
    number: str = Field(min_length=6, max_length=25)


class TokenSource(_WireRequest):
    """A `tok_…` token made client-side with the public key (Frames, Flow, Apple/Google Pay)."""

    type: Literal["token"] = "token"
    token: str = Field(pattern=r"^tok_\w+$")
    billing_address: Address | None = None
    phone: Phone | None = None


class IdSource(_WireRequest):
    """A stored instrument (`src_…`); paybridge never sends a CVV."""

    type: Literal["id"] = "id"
    id: str = Field(pattern=r"^src_\w+$")


_NOT_APM = frozenset({"token", "id", "card", "network_token", "customer"})


class ApmSource(BaseModel):
    """A local payment method (`ideal`, `sepa`, `klarna`…) with that method's own fields."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(pattern=r"^[a-z0-9_]+$", max_length=50)

    @field_validator("type")
    @classmethod
    def _refuse_card_like_types(cls, value: str) -> str:
        # Raw cards are out of scope (PCI); tokens and instruments have their own models.
        if value in _NOT_APM:
            raise ValueError(f"source type {value!r} is not a local payment method")
        return value


def _source_tag(value: Any) -> str:
    source_type = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return source_type if source_type in ("token", "id") else "apm"


PaymentSource = Annotated[
    Annotated[TokenSource, Tag("token")]
    | Annotated[IdSource, Tag("id")]
    | Annotated[ApmSource, Tag("apm")],
    Discriminator(_source_tag),
]


class Customer(_WireRequest):
    """`id` only ever holds a Checkout.com `cus_…` id; Salesforce ids travel in metadata."""

    id: str | None = Field(default=None, pattern=r"^cus_\w+$")
    email: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=255)


class BillingDescriptor(_WireRequest):
    name: str = Field(min_length=1, max_length=25)
    city: str = Field(min_length=1, max_length=13)


ChallengeIndicator = Literal[
    "no_preference", "no_challenge_requested", "challenge_requested", "challenge_requested_mandate"
]


class ThreeDs(_WireRequest):
    enabled: bool
    attempt_n3d: bool | None = None
    challenge_indicator: ChallengeIndicator | None = None


class PaymentRequest(_WireRequest):
    """POST /payments. `capture` is explicit: Checkout.com's default (true) is a hazard."""

    source: PaymentSource
    amount: AmountMinor
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: Reference
    description: str | None = Field(default=None, max_length=100)
    customer: Customer | None = None
    billing_descriptor: BillingDescriptor | None = None
    processing_channel_id: str | None = Field(default=None, pattern=r"^pc_\w+$")
    capture: bool
    three_ds: ThreeDs | None = Field(
        default=None,
        validation_alias=AliasChoices("three_ds", "3ds"),
        serialization_alias="3ds",
    )
    success_url: str | None = Field(default=None, max_length=1024)
    failure_url: str | None = Field(default=None, max_length=1024)
    payment_ip: IPv4Address | None = None
    metadata: Metadata = Field(default_factory=dict)


LinkMethod = Literal[
    "card", "sofort", "ideal", "knet", "giropay", "bancontact", "p24", "eps", "multibanco"
]
"""What a Payment Link page can offer (the spec's `allow_payment_methods` enum)."""

LINK_EXPIRES_IN_MAX_S = 1_209_600
"""Checkout.com's bound on `expires_in` (14 days); the minimum is 1 second."""


class LinkBilling(_WireRequest):
    """`billing` is required by `POST /payment-links`, and its address needs a country."""

    address: Address


class PaymentLinkRequest(_WireRequest):
    """POST /payment-links: Checkout.com hosts the page, the shopper picks the method."""

    amount: Annotated[int, Field(strict=True, ge=1, le=999_999_999)]
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: Reference
    description: str | None = Field(default=None, max_length=100)
    billing: LinkBilling
    customer: Customer | None = None
    processing_channel_id: str | None = Field(default=None, pattern=r"^pc_\w+$")
    expires_in: int | None = Field(default=None, ge=1, le=LINK_EXPIRES_IN_MAX_S)
    capture: bool
    three_ds: ThreeDs | None = Field(
        default=None,
        validation_alias=AliasChoices("three_ds", "3ds"),
        serialization_alias="3ds",
    )
    allow_payment_methods: list[LinkMethod] | None = None
    return_url: str | None = Field(default=None, max_length=255)
    locale: str | None = None
    metadata: Metadata = Field(default_factory=dict)


class CaptureRequest(_WireRequest):
    """POST /payments/{id}/captures; no amount = everything still capturable."""

    amount: AmountMinor | None = None
    capture_type: Literal["Final", "NonFinal"] | None = None
    reference: Reference | None = None
    metadata: Metadata | None = None


class VoidRequest(_WireRequest):
    reference: Reference | None = None
    metadata: Metadata | None = None


class RefundRequest(_WireRequest):
    """POST /payments/{id}/refunds; no amount = everything still refundable."""

    amount: AmountMinor | None = None
    reference: Reference | None = None
    metadata: Metadata | None = None


# --- responses ------------------------------------------------------------------------------


class _Linked(_WireResponse):
    """`_links` kept raw: the spec's own examples disagree on link names (`action`/`actions`)."""

    links: dict[str, Any] = Field(default_factory=dict, validation_alias="_links")

    def link(self, name: str) -> str | None:
        entry = self.links.get(name)
        href = entry.get("href") if isinstance(entry, dict) else None
        return href if isinstance(href, str) and href else None


class ResponseSource(_WireResponse):
    id: str | None = None
    type: str | None = None
    last4: str | None = None
    scheme: str | None = None


class ResponseCustomer(_WireResponse):
    id: str | None = None
    email: str | None = None
    name: str | None = None


class PaymentResponse(_Linked):
    """POST /payments answer: 201 processed (approved or declined) or 202 pending (redirect)."""

    id: str
    action_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    approved: bool | None = None
    status: str
    response_code: str | None = None
    response_summary: str | None = None
    reference: str | None = None
    source: ResponseSource | None = None
    customer: ResponseCustomer | None = None
    expires_on: datetime | None = None
    processed_on: datetime | None = None

    @property
    def redirect_url(self) -> str | None:
        """Where to send the shopper for 3DS or the local payment method (202 only)."""
        return self.link("redirect")


class ActionAcceptedResponse(_Linked):
    """202 for a capture, void or refund: accepted, outcome follows by webhook."""

    action_id: str
    reference: str | None = None


class Balances(_WireResponse):
    total_authorized: int = 0
    total_voided: int = 0
    available_to_void: int = 0
    total_captured: int = 0
    available_to_capture: int = 0
    total_refunded: int = 0
    available_to_refund: int = 0


class PaymentDetails(_Linked):
    """GET /payments/{id} (also accepts a `sid_…` 3DS session id)."""

    id: str
    status: str
    amount: int = 0
    currency: str
    approved: bool | None = None
    reference: str | None = None
    requested_on: datetime | None = None
    expires_on: datetime | None = None
    payment_type: str | None = None
    source: ResponseSource | None = None
    customer: ResponseCustomer | None = None
    metadata: dict[str, Any] | None = None
    balances: Balances | None = None


class PaymentList(_WireResponse):
    """GET /payments?reference=… (beta): newest first."""

    limit: int | None = None
    skip: int | None = None
    total_count: int | None = None
    data: list[PaymentDetails] = Field(default_factory=list)


class PaymentAction(_WireResponse):
    """One item of GET /payments/{id}/actions; `type` is `Authorization`, `Capture`, …"""

    id: str
    type: str
    amount: int | None = None
    approved: bool | None = None
    processed_on: datetime | None = None
    auth_code: str | None = None
    response_code: str | None = None
    response_summary: str | None = None
    reference: str | None = None
    metadata: dict[str, Any] | None = None


PAYMENT_ACTIONS = TypeAdapter(list[PaymentAction])


class DisputePayment(_WireResponse):
    id: str | None = None
    action_id: str | None = None
    processing_channel_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    method: str | None = None
    arn: str | None = None
    mcc: str | None = None
    has_refund: bool | None = None
    processed_on: datetime | None = None


class Dispute(_Linked):
    """GET /disputes/{id}; the disputed payment is nested under `payment`."""

    id: str
    entity_id: str | None = None
    sub_entity_id: str | None = None
    category: str | None = None
    amount: int | None = None
    currency: str | None = None
    reason_code: str | None = None
    status: str
    resolved_reason: str | None = None
    relevant_evidence: list[str] = Field(default_factory=list)
    evidence_required_by: datetime | None = None
    received_on: datetime | None = None
    last_update: datetime | None = None
    payment: DisputePayment | None = None

    @field_validator("relevant_evidence", mode="before")
    @classmethod
    def _flatten_evidence(cls, value: Any) -> Any:
        # The spec types this as an array of arrays; real answers are a flat list of names.
        if isinstance(value, list):
            flat: list[Any] = []
            for item in value:
                flat.extend(item if isinstance(item, list) else [item])
            return flat
        return value


class FileUploadResponse(_Linked):
    """POST /files: the `file_…` id to quote in dispute evidence."""

    id: str


class PaymentLinkCreated(_Linked):
    """201 of POST /payment-links: the id, the expiry and the page (`_links.redirect`)."""

    id: str
    expires_on: datetime | None = None
    reference: str | None = None

    @property
    def url(self) -> str | None:
        return self.link("redirect")


class PaymentLinkDetails(_Linked):
    """GET /payment-links/{id}: `status` is `Active`, `Payment Received` or `Expired`."""

    id: str
    status: str
    payment_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    reference: str | None = None
    expires_on: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
