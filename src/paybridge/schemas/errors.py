"""The one error envelope every failure uses (404, 405 and webhook refusals included)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetailRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str = Field(
        description="Dotted path of the failing field.", examples=["order.CurrencyIsoCode"]
    )
    code: str = Field(description="Stable machine code.", examples=["invalid_currency"])
    message: str = Field(description="Human-readable explanation.")


class ErrorBody(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable machine code.", examples=["validation_failed"])
    message: str = Field(description="Human-readable explanation.")
    request_id: str | None = Field(
        default=None, description="Correlation id (echoes X-Request-ID); quote it to support."
    )
    details: list[ErrorDetailRead] = Field(default_factory=list)
    checkout_request_id: str | None = Field(
        default=None, description="Checkout.com's Cko-Request-Id when Checkout.com refused."
    )
    checkout_error_codes: list[str] | None = Field(
        default=None, description="Checkout.com's error_codes when Checkout.com refused."
    )


class ErrorEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    error: ErrorBody
