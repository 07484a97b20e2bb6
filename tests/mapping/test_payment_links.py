"""Payment Link planning (pure): which methods a link offers, and the refusals that name
the request field."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from paybridge.domain.markets import CaptureMode, Market, MarketBook
from paybridge.errors import ValidationFailed
from paybridge.mapping.field_map import FieldMap
from paybridge.mapping.orders import to_order_context
from paybridge.mapping.payment_links import LinkPlan, plan_link, to_payment_link_request
from paybridge.mapping.payment_plan import order_fields
from paybridge.schemas.payment_links import PaymentLinkCreate
from tests.api.payloads import CUSTOMER, ORDER
from tests.checkout_spec import validate_against_spec

CHANNEL = "pc_q4dbxom5jbgudnjzjpz7j2z6uq"


def _market(key: str, methods: set[str], **extra: object) -> Market:
    return Market(
        key=key,
        processing_channel_id=CHANNEL,
        payment_methods=frozenset(methods),
        **extra,  # type: ignore[arg-type]
    )


def _plan(book: MarketBook, **overrides: object) -> tuple[PaymentLinkCreate, LinkPlan]:
    # As the API parses JSON: numbers as Decimal, never through a float.
    raw = json.loads(
        json.dumps({"order": ORDER, "customer": CUSTOMER, **overrides}), parse_float=Decimal
    )
    request = PaymentLinkCreate.model_validate(raw)
    fmap = FieldMap()
    ctx = to_order_context(request.order, request.customer, fmap)
    fields = order_fields(request.order, request.customer, fmap)
    return request, plan_link(request, ctx, book, fields=fields)


def test_a_market_without_any_method_a_link_can_offer_is_refused_on_the_currency() -> None:
    book = MarketBook((_market("dd-only", {"sepa", "klarna"}),), default="dd-only")

    with pytest.raises(ValidationFailed) as refused:
        _plan(book)

    assert refused.value.code == "no_link_methods"
    assert [d.field for d in refused.value.details] == ["order.CurrencyIsoCode"]


def test_local_methods_are_offered_only_where_their_currency_and_country_allow() -> None:
    book = MarketBook(
        (_market("eu", {"token", "ideal", "bancontact", "p24", "multibanco"}),), default="eu"
    )

    _, plan = _plan(book)

    assert plan.methods == ("card", "ideal")


def test_narrowing_keeps_the_callers_choice_and_the_markets_capture_mode() -> None:
    book = MarketBook(
        (_market("nl", {"token", "ideal"}, capture=CaptureMode.MANUAL),), default="nl"
    )

    request, plan = _plan(book, allow_payment_methods=["ideal"])
    ctx = to_order_context(request.order, request.customer, FieldMap())
    wire = to_payment_link_request(ctx, request, plan, link_record_id="rec-1")

    body = wire.to_wire()
    validate_against_spec(body, "PaymentLinksRequest")
    assert body["allow_payment_methods"] == ["ideal"]
    assert body["capture"] is False
    assert body["processing_channel_id"] == CHANNEL
    assert body["metadata"]["paybridge_link_id"] == "rec-1"


def test_an_unknown_store_is_refused_on_store() -> None:
    book = MarketBook((_market("nl", {"token"}),), default="nl")

    with pytest.raises(ValidationFailed) as refused:
        _plan(book, store="be-web")

    assert refused.value.code == "no_market"
    assert [d.field for d in refused.value.details] == ["store"]


def test_a_capture_the_market_forbids_is_refused_on_capture() -> None:
    book = MarketBook((_market("nl", {"token"}, capture=CaptureMode.MANUAL),), default="nl")

    with pytest.raises(ValidationFailed) as refused:
        _plan(book, capture=True)

    assert refused.value.code == "capture_not_allowed"
    assert [d.field for d in refused.value.details] == ["capture"]
