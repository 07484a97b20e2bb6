"""Dispute read models and the evidence request of the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paybridge.domain.disputes import DisputeStatus
from paybridge.domain.evidence import EVIDENCE_TEXT_MAX, EvidenceFileType

_READ = ConfigDict(extra="forbid", frozen=True)

_FILE_EXAMPLE = "file_6lbss42ezvoufcb2beo76rvwly"

FileId = Annotated[
    str | None,
    Field(
        default=None,
        pattern=r"^file_\w{1,64}$",
        description="A `file_…` id returned by `POST /v1/disputes/{dispute_id}/files`.",
        examples=[_FILE_EXAMPLE],
    ),
]
EvidenceText = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=EVIDENCE_TEXT_MAX,
        description="A short description of the evidence, or a link (≤ 500 characters).",
        examples=["Signed delivery note, parcel 3S1234 delivered 2026-11-02"],
    ),
]


class EvidenceUpdate(BaseModel):
    """Evidence to save on the dispute, under Checkout.com's field names (at least one).
    Nothing reaches the card scheme until `…/evidence/submit`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "proof_of_delivery_or_service_file": _FILE_EXAMPLE,
                    "proof_of_delivery_or_service_text": "Signed delivery note",
                    "customer_communication_text": "Shopper confirmed receipt by e-mail",
                }
            ]
        },
    )

    proof_of_delivery_or_service_file: FileId
    proof_of_delivery_or_service_text: EvidenceText
    invoice_or_receipt_file: FileId
    invoice_or_receipt_text: EvidenceText
    invoice_showing_distinct_transactions_file: FileId
    invoice_showing_distinct_transactions_text: EvidenceText
    customer_communication_file: FileId
    customer_communication_text: EvidenceText
    refund_or_cancellation_policy_file: FileId
    refund_or_cancellation_policy_text: EvidenceText
    recurring_transaction_agreement_file: FileId
    recurring_transaction_agreement_text: EvidenceText
    additional_evidence_file: FileId
    additional_evidence_text: EvidenceText
    proof_of_delivery_or_service_date_file: FileId
    proof_of_delivery_or_service_date_text: EvidenceText

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if not self.to_wire():
            raise ValueError("provide at least one evidence field")
        return self

    def to_wire(self) -> dict[str, str]:
        """The fields given, under Checkout.com's names (they are the same)."""
        return {name: value for name, value in self.model_dump().items() if value is not None}


class DisputeRead(BaseModel):
    """A dispute (chargeback) as paybridge knows it, with the payment it belongs to."""

    model_config = _READ

    dispute_id: str = Field(
        description="Checkout.com dispute id.", examples=["dsp_rbhwd2qrg13uhrp2newf"]
    )
    status: DisputeStatus = Field(
        description="Checkout.com's dispute status; it only moves forward."
    )
    category: str | None = Field(
        description="Checkout.com's dispute category.", examples=["product_service_not_received"]
    )
    reason_code: str | None = Field(description="The card scheme's reason code.", examples=["13.1"])
    amount: str | None = Field(
        description="Disputed amount in major units of `currency`.", examples=["149.90"]
    )
    amount_minor: int | None = Field(description="Same in minor units.", examples=[14990])
    currency: str | None = Field(examples=["EUR"])
    lost_amount: str | None = Field(
        description="What the dispute has cost (major units): the amount once lost, accepted, "
        "expired or lost in arbitration, else zero.",
        examples=["0.00"],
    )
    resolved_reason: str | None = Field(
        description="Why Checkout.com resolved it automatically.", examples=["already_refunded"]
    )
    evidence_required_by: datetime | None = Field(
        description="Deadline for evidence (UTC).", examples=["2026-12-12T00:00:00Z"]
    )
    received_on: datetime | None = Field(examples=["2026-11-28T09:00:00Z"])
    last_update: datetime | None = Field(examples=["2026-11-28T09:00:00Z"])
    relevant_evidence: list[str] = Field(
        description="Evidence kinds Checkout.com recommends for this dispute.",
        examples=[["proof_of_delivery_or_service", "invoice_or_receipt"]],
    )
    open_for_evidence: bool = Field(
        description="Evidence can still be saved and submitted, or the dispute accepted."
    )
    payment_id: str | None = Field(
        description="Checkout.com id of the disputed payment.",
        examples=["pay_mbabizu24mvu3mela5njyhpit4"],
    )
    payment_action_id: str | None = Field(
        description="The disputed action (usually the capture).",
        examples=["act_y3oqhf46pyzuxjbcn2giaqnb44"],
    )
    payment_reference: str | None = Field(
        description="The payment's reference (the Order's OrderNumber).", examples=["00000100"]
    )
    payment_known: bool = Field(
        description="paybridge holds the payment (false for payments made elsewhere)."
    )
    order_id: str | None = Field(
        description="Salesforce Order Id of the payment, when known.",
        examples=["8015g00000AbCdEAAV"],
    )
    created_at: datetime
    updated_at: datetime


class DisputeList(BaseModel):
    model_config = _READ

    disputes: list[DisputeRead]


class EvidenceRead(BaseModel):
    """Evidence saved at Checkout.com (not submitted yet)."""

    model_config = _READ

    dispute_id: str = Field(examples=["dsp_rbhwd2qrg13uhrp2newf"])
    evidence: dict[str, str] = Field(
        description="The fields saved, under Checkout.com's names.",
        examples=[{"proof_of_delivery_or_service_file": _FILE_EXAMPLE}],
    )
    dispute: DisputeRead


class EvidenceFileRead(BaseModel):
    """An evidence file stored at Checkout.com; quote `file_id` in the evidence."""

    model_config = _READ

    file_id: str = Field(description="Checkout.com file id.", examples=[_FILE_EXAMPLE])
    dispute_id: str = Field(examples=["dsp_rbhwd2qrg13uhrp2newf"])
    filename: str = Field(examples=["delivery-note.pdf"])
    content_type: EvidenceFileType
    size_bytes: int = Field(examples=[48213])
