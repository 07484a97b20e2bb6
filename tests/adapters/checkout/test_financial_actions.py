"""`GET /financial-actions` against a respx-mocked Checkout.com: query shape from the spec,
the spec's own example parsed, pages followed, transient failures retried."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from paybridge.adapters.checkout.client import CheckoutClient
from paybridge.adapters.checkout.errors import CheckoutUnavailable
from tests.adapters.checkout.payloads import ACTION_ID, PAYMENT_ID, load_sample
from tests.checkout_spec import load_spec, validate_against_spec

# FinancialActionListResponse assembled from the property `example`s of the NAS spec
# (tests/reference/README.md lists how).
SAMPLE = "spec-examples/get-financial-actions-200-response.json"


def spec_query_names() -> set[str]:
    operation = load_spec()["paths"]["/financial-actions"]["get"]
    return {param["name"] for param in operation["parameters"] if param["in"] == "query"}


def page(*, token: str | None, action_id: str) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(load_sample(SAMPLE))
    body["data"][0]["action_id"] = action_id
    if token is None:
        del body["_links"]["next"]
    else:
        body["_links"]["next"]["href"] = (
            f"https://api.checkout.com/financial-actions?payment_id={PAYMENT_ID}"
            f"&limit=100&pagination_token={token}"
        )
    return body


def test_the_vendored_sample_satisfies_the_spec_schema_but_for_its_own_slips() -> None:
    body = copy.deepcopy(load_sample(SAMPLE))
    # The spec's examples give numbers where its types say string (and a currency code
    # where it says number): repaired here only, to show every other field is the spec's.
    action = body["data"][0]
    action["response_code"] = str(action["response_code"])
    action["merchant_category_code"] = str(action["merchant_category_code"])
    del action["breakdown"][0]["tax_currency_amount"]
    # `_links.self`/`next` say `additionalProperties: false` beside an `allOf` that brings
    # `href`, so no link can satisfy them: the links are checked by the pagination tests.
    del body["_links"]
    validate_against_spec(body, "FinancialActionListResponse")


async def test_the_spec_example_is_read_with_decimal_amounts(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.get("/financial-actions").respond(200, json=load_sample(SAMPLE))

    result = await checkout.list_financial_actions(payment_id="pay_qqufsd3rfnqufngwklghlxrzpm")

    action = result.data[0]
    assert action.action_id == "act_wsnyzbzmr2huxcekoj7qqhxwuy"
    assert action.action_type == "Capture"
    assert action.response_code == "10000"
    assert action.payout_id is None
    line = action.breakdown[0]
    assert line.breakdown_type == "Scheme Fixed Fee"
    assert line.holding_currency == "USD"
    assert line.holding_currency_amount == Decimal("0.19526938")
    assert result.next_token == "string"


async def test_query_names_are_the_specs_and_the_limit_stays_in_bounds(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.get("/financial-actions").respond(200, json=page(token=None, action_id=ACTION_ID))

    await checkout.list_financial_actions(action_id=ACTION_ID, limit=500)

    params = route.calls.last.request.url.params
    assert set(params.keys()) <= spec_query_names()
    assert params["action_id"] == ACTION_ID
    assert params["limit"] == "100"


async def test_exactly_one_of_payment_and_action_is_required(checkout: CheckoutClient) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await checkout.list_financial_actions()
    with pytest.raises(ValueError, match="exactly one"):
        await checkout.list_financial_actions(payment_id=PAYMENT_ID, action_id=ACTION_ID)


async def test_every_page_of_a_payment_is_followed_by_its_token(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    first = "act_aaaaaaaaaaaaaaaaaaaaaaaaaa"
    second = "act_bbbbbbbbbbbbbbbbbbbbbbbbbb"
    route = cko.get("/financial-actions")
    route.side_effect = [
        httpx.Response(200, json=page(token="tok-2", action_id=first)),
        httpx.Response(200, json=page(token=None, action_id=second)),
    ]

    actions = await checkout.financial_actions_of_payment(PAYMENT_ID)

    assert [action.action_id for action in actions] == [first, second]
    assert "pagination_token" not in route.calls[0].request.url.params
    assert route.calls[1].request.url.params["pagination_token"] == "tok-2"
    assert route.calls[1].request.url.host == "api.sandbox.checkout.com"


async def test_a_token_seen_before_ends_the_walk(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.get("/financial-actions").respond(200, json=page(token="same", action_id=ACTION_ID))

    actions = await checkout.financial_actions_of_payment(PAYMENT_ID)

    assert route.call_count == 2
    assert len(actions) == 2


async def test_transient_failures_are_retried_like_every_other_get(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    route = cko.get("/financial-actions")
    route.side_effect = [
        httpx.ReadTimeout("read timed out"),
        httpx.Response(503),
        httpx.Response(200, json=page(token=None, action_id=ACTION_ID)),
    ]

    actions = await checkout.financial_actions_of_payment(PAYMENT_ID)

    assert [action.action_id for action in actions] == [ACTION_ID]
    assert route.call_count == 3


async def test_an_outage_longer_than_the_retries_is_unavailable(
    cko: respx.MockRouter, checkout: CheckoutClient
) -> None:
    cko.get("/financial-actions").respond(503)

    with pytest.raises(CheckoutUnavailable):
        await checkout.financial_actions_of_payment(PAYMENT_ID)
