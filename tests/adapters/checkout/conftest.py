"""Fixtures for the Checkout.com adapter tests: a respx router and a no-wait client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from paybridge.adapters.checkout.client import CheckoutCallRecord, CheckoutClient
from paybridge.adapters.http import RetryPolicy, build_http_client
from tests.adapters.checkout.payloads import BASE_URL, SECRET_KEY


@pytest.fixture
def cko() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    client = build_http_client(base_url=BASE_URL, connect_timeout_s=1.0, read_timeout_s=2.0)
    yield client
    await client.aclose()


@pytest.fixture
def call_records() -> list[CheckoutCallRecord]:
    return []


@pytest.fixture
def checkout(
    http_client: httpx.AsyncClient, call_records: list[CheckoutCallRecord]
) -> CheckoutClient:
    async def record(call: CheckoutCallRecord) -> None:
        call_records.append(call)

    return CheckoutClient(
        http_client,
        secret_key=SECRET_KEY,
        retry_policy=RetryPolicy.immediate(3),
        on_call=record,
    )
