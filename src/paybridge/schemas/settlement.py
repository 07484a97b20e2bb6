"""Settlement and fees in the payment view: per capture or refund, and the payment's totals."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class ActionSettlementRead(BaseModel):
    """What Checkout.com's financial actions say this capture or refund did to the balance.
    Amounts are major units of `currency` (the settlement currency, which may differ from the
    payment's); fees are costs."""

    model_config = ConfigDict(frozen=True)

    currency: str = Field(description="Settlement (holding) currency.", examples=["EUR"])
    gross: str | None = Field(
        description="Gross amount as settled (a refund's is negative); null when Checkout.com "
        "stated fees only.",
        examples=["100.00"],
    )
    processing_fees: str = Field(description="Checkout.com's own fees.", examples=["1.00"])
    scheme_fees: str = Field(description="Card scheme fees.", examples=["0.07"])
    interchange: str = Field(description="Interchange fees.", examples=["0.20"])
    fees: str = Field(description="All fees together.", examples=["1.27"])
    net: str | None = Field(description="Gross less fees.", examples=["98.73"])
    payout_id: str | None = Field(
        default=None, description="The payout that paid it out, when Checkout.com states it."
    )
    settled_on: date = Field(
        description="The day (UTC) the action reached the balance.", examples=["2026-12-04"]
    )


class SettlementTotalsRead(BaseModel):
    """The payment's settled actions summed, one entry per settlement currency."""

    model_config = ConfigDict(frozen=True)

    currency: str = Field(examples=["EUR"])
    gross: str = Field(examples=["100.00"])
    fees: str = Field(examples=["1.27"])
    net: str = Field(examples=["98.73"])
    settled_actions: int = Field(description="Captures and refunds with a settlement.")
