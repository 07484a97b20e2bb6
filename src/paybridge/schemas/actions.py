"""Capture, void and refund requests from Salesforce, and the 202 answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from paybridge.domain.status import ActionStatus, ActionType
from paybridge.schemas.common import FlatMetadata, MajorAmount
from paybridge.schemas.payments import PaymentRead

_FORBID = ConfigDict(extra="forbid", frozen=True)
_REFERENCE = Field(
    default=None, max_length=50, description="Your reference for this action (≤ 50 characters)."
)
_METADATA = Field(
    default=None,
    max_length=10,
    description="Flat key/value pairs passed to Checkout.com with the action.",
)


class CaptureCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"examples": [{"amount": 50.00, "final": False, "reference": "SHIP-1"}]},
    )

    amount: MajorAmount | None = Field(
        default=None, description="Omitted: everything still capturable."
    )
    final: bool = Field(
        default=True,
        description="False sends capture_type NonFinal so more partial captures can follow; "
        "true voids whatever stays uncaptured.",
    )
    reference: str | None = _REFERENCE
    metadata: FlatMetadata | None = _METADATA


class VoidCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [{"reference": "CANCEL-1"}]}
    )

    reference: str | None = _REFERENCE
    metadata: FlatMetadata | None = _METADATA


class RefundCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"examples": [{"amount": "25.00", "reason": "Damaged item"}]},
    )

    amount: MajorAmount | None = Field(
        default=None, description="Omitted: everything still refundable."
    )
    reason: str | None = Field(
        default=None, max_length=100, description="Why (kept in the action's metadata)."
    )
    reference: str | None = _REFERENCE
    metadata: FlatMetadata | None = _METADATA


class ActionAccepted(BaseModel):
    """Checkout.com accepted the action; its outcome arrives by webhook."""

    model_config = ConfigDict(frozen=True)

    action_id: str = Field(examples=["act_y3oqhf46pyzuxjbcn2giaqnb44"])
    type: ActionType
    amount: str | None = Field(description="Major units.", examples=["50.00"])
    status: ActionStatus = Field(description="Always Requested here.")
    payment: PaymentRead
