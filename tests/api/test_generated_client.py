"""A client generated from `openapi/openapi.json` with `openapi-python-client` drives a
payment's life against the app: the exported document keeps describing what the service does
(operation ids become the client's function names, the API key scheme its credentials)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from paybridge.container import Container
from tests.api.payloads import payment_body
from tests.api.test_actions import confirm
from tests.conftest import API_KEY

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
PACKAGE = "paybridge_generated_client"
_CONFIG = (
    f"package_name_override: {PACKAGE}\nproject_name_override: paybridge-client\npost_hooks: []\n"
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("client")
    config = root / "config.yml"
    config.write_text(_CONFIG, encoding="utf-8")
    generator = Path(sys.executable).parent / "openapi-python-client"
    subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(SPEC),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _op(tag: str, operation: str) -> Any:
    """`<package>.api.<tag>.<operation>`: where the generator puts an operation id."""
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")


def _model(name: str, module: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models.{module}"), name)


async def test_create_capture_refund_read_and_an_error_through_the_generated_client(
    generated: ModuleType, app: FastAPI, container: Container
) -> None:
    client = generated.AuthenticatedClient(
        base_url="http://paybridge.test",
        token=API_KEY,
        prefix="",
        auth_header_name="X-API-Key",
        httpx_args={"transport": httpx.ASGITransport(app=app)},
    )
    async with client:
        created = await _op("payments", "create_payment").asyncio_detailed(
            client=client,
            body=_model("PaymentCreate", "payment_create").from_dict(payment_body()),
            idempotency_key="key-generated-create-0001",
        )
        assert created.status_code == 201, created.content
        payment = created.parsed
        assert payment.approved is True
        payment_id = payment.payment_id

        captured = await _op("lifecycle", "capture_payment").asyncio_detailed(
            payment_id,
            client=client,
            body=_model("CaptureCreate", "capture_create").from_dict({}),
            idempotency_key="key-generated-capture-0001",
        )
        assert captured.status_code == 202, captured.content
        assert captured.parsed.amount == "149.90"
        await confirm(container, payment_id, captured.parsed.action_id)

        refunded = await _op("lifecycle", "refund_payment").asyncio_detailed(
            payment_id,
            client=client,
            body=_model("RefundCreate", "refund_create").from_dict(
                {"amount": "40.00", "reason": "damaged"}
            ),
            idempotency_key="key-generated-refund-0001",
        )
        assert refunded.status_code == 202, refunded.content
        await confirm(container, payment_id, refunded.parsed.action_id)

        read = await _op("payments", "get_payment").asyncio_detailed(payment_id, client=client)
        assert read.status_code == 200, read.content
        assert read.parsed.amounts.captured == "149.90"
        assert read.parsed.amounts.refunded == "40.00"
        assert read.parsed.amounts.available_to_refund == "109.90"

        too_much = await _op("lifecycle", "refund_payment").asyncio_detailed(
            payment_id,
            client=client,
            body=_model("RefundCreate", "refund_create").from_dict({"amount": "109.91"}),
            idempotency_key="key-generated-refund-0002",
        )
        assert too_much.status_code == 422
        assert isinstance(too_much.parsed, _model("ErrorEnvelope", "error_envelope"))
        assert too_much.parsed.error.code == "amount_exceeds_refundable"
        assert too_much.parsed.error.details[0].field == "amount"


async def test_the_generated_client_without_credentials_gets_the_401_envelope(
    generated: ModuleType, app: FastAPI
) -> None:
    client = generated.Client(
        base_url="http://paybridge.test",
        httpx_args={"transport": httpx.ASGITransport(app=app)},
    )
    async with client:
        response = await _op("payments", "get_payment").asyncio_detailed(
            "pay_mbabizu24mvu3mela5njyhpit4", client=client
        )
    assert response.status_code == 401
    assert response.parsed.error.code == "unauthorized"
