"""Checkout.com request models and canned answers shared by the adapter tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paybridge.adapters.checkout.models import (
    Address,
    BillingDescriptor,
    Customer,
    PaymentRequest,
    ThreeDs,
    TokenSource,
)
from tests.checkout_spec import REPO_ROOT

SAMPLES = REPO_ROOT / "tests" / "reference" / "checkout" / "samples"

BASE_URL = "https://api.sandbox.checkout.com"
SECRET_KEY = "sk_sbox_m73dzbpy7cf3gfd46xr4yj5xo4e"
PAYMENT_ID = "pay_mbabizu24mvu3mela5njyhpit4"
ACTION_ID = "act_mbabizu24mvu3mela5njyhpit4"
DISPUTE_ID = "dsp_rbhwd2qrg13uhrp2newf"
TOKEN = "tok_4gzeau5o2uqubbk6fufs3m7p54"
REQUEST_ID = "0HL80RJLS76I7"


def load_sample(relative: str) -> Any:
    return json.loads(Path(SAMPLES / relative).read_text(encoding="utf-8"))


def payment_request(**changes: Any) -> PaymentRequest:
    """A realistic Salesforce-originated card payment: token, billing address, 3DS, metadata."""
    fields: dict[str, Any] = {
        "source": TokenSource(
            token=TOKEN,
            billing_address=Address(
                address_line1="Keizersgracht 1",
                city="Amsterdam",
                zip="1015 CJ",
                country="NL",
            ),
        ),
        "amount": 14990,
        "currency": "EUR",
        "reference": "00000100",
        "description": "Order 00000100",
        "customer": Customer(email="ana@example.com", name="Ana de Vries"),
        "billing_descriptor": BillingDescriptor(name="PAYBRIDGE SHOP", city="Amsterdam"),
        "processing_channel_id": "pc_zs5fqhybzc2e3jmq3efvybybpq",
        "capture": False,
        "three_ds": ThreeDs(enabled=True, attempt_n3d=True, challenge_indicator="no_preference"),
        "success_url": "https://shop.example.com/pay/success",
        "failure_url": "https://shop.example.com/pay/failure",
        "payment_ip": "90.197.169.245",
        "metadata": {
            "sf_order_id": "8015g00000AbCdEAAV",
            "sf_account_id": "0015g00000XyZaBAAV",
            "paybridge_payment_id": "8d3c1f0e",
            "attempt": 1,
        },
    }
    fields.update(changes)
    return PaymentRequest(**fields)


def payment_201(*, approved: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = load_sample("spec-examples/post-payments-201-response.json")
    if not approved:
        body.update(
            approved=False,
            status="Declined",
            response_code="20051",
            response_summary="Insufficient Funds",
        )
    return body


def payment_202() -> dict[str, Any]:
    return {
        "id": PAYMENT_ID,
        "status": "Pending",
        "reference": "00000100",
        "customer": {"id": "cus_udst2tfldj6upmye2reztkmm4i"},
        "3ds": {"downgraded": False, "enrolled": "Y"},
        "_links": {
            "self": {"href": f"https://api.sandbox.checkout.com/payments/{PAYMENT_ID}"},
            "redirect": {"href": "https://3ds2-sandbox.ckotech.co/interceptor/3ds_abc/device"},
        },
    }


def action_202() -> dict[str, Any]:
    return {
        "action_id": ACTION_ID,
        "reference": "00000100-capture-1",
        "_links": {"payment": {"href": f"https://api.sandbox.checkout.com/payments/{PAYMENT_ID}"}},
    }


def validation_422() -> dict[str, Any]:
    return {
        "request_id": "2a16b1e2-7c5b-4b39-9e8d-2b4d5e6f7a8b",
        "error_type": "request_invalid",
        "error_codes": ["processing_channel_id_required", "payment_source_required"],
    }
