"""Checkout.com financial actions (`GET /financial-actions`, beta): wire models, read tolerantly.

What an action (a capture, a refund) did to the merchant's balances: its `breakdown` lists the
gross amount and each fee in the holding (settlement) currency. Amounts there are decimal
numbers at sub-minor precision (`0.19526938`), so they are read as `Decimal`, never `float`.
The 2023 spec types `response_code` as a string but gives a number as its example; both are
accepted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BeforeValidator, Field

from paybridge.adapters.checkout.models import _Linked, _WireResponse

FINANCIAL_ACTIONS_PAGE_MAX = 100
"""The spec's bound on `limit` (and its default)."""


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_text)]


class FinancialActionBreakdown(_WireResponse):
    """One line of an action's breakdown: the gross amount, a fee, a reserve…"""

    breakdown_type: str
    holding_currency: str
    holding_currency_amount: Decimal
    processing_currency: str | None = None
    processing_currency_amount: Decimal | None = None
    fee_detail: str | None = None


class FinancialAction(_WireResponse):
    """One financial action. `payout_id` is not in the 2023 spec (Checkout.com's settlement
    reports name it); it is read when the answer carries it."""

    payment_id: str
    action_id: str
    action_type: str
    processed_on: datetime
    requested_on: datetime | None = None
    reference: str | None = None
    response_code: Text | None = None
    payout_id: str | None = None
    breakdown: list[FinancialActionBreakdown] = Field(default_factory=list)


class FinancialActionPage(_Linked):
    """One page; `next_token` is the `pagination_token` of the next page (None on the last)."""

    count: int | None = None
    limit: int | None = None
    data: list[FinancialAction] = Field(default_factory=list)

    @property
    def next_token(self) -> str | None:
        href = self.link("next")
        if href is None:
            return None
        tokens = parse_qs(urlsplit(href).query).get("pagination_token")
        return tokens[0] if tokens and tokens[0] else None
