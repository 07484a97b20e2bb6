"""The Commerce Payments gateway adapter in `force-commerce`: registered as a provider the way
Salesforce documents it, and calling paybridge the way paybridge expects (DESIGN §5 `commerce`).

PaymentGatewayProvider metadata: `apexAdapter`, `masterLabel`, `idempotencySupported` (Yes|No,
required) — https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_paymentgatewayprovider.htm
"""

from __future__ import annotations

import re

from paybridge.adapters.salesforce.gateway_signatures import SIGNATURE_HEADER, TOLERANCE_S
from paybridge.services.gateway_notifications import GATEWAY_ORIGIN, NOT_YET, ORIGIN_HEADER
from tests.salesforce_package.package import (
    APP,
    COMMERCE,
    apex_sources,
    child_text,
    package_files,
    parse,
    source_dir,
    strip_comments,
)


def _providers() -> dict[str, str]:
    return {
        path.name.removesuffix(".paymentGatewayProvider-meta.xml"): str(path)
        for path in package_files("*.paymentGatewayProvider-meta.xml")
    }


def test_one_provider_supports_idempotency_and_names_the_adapter_class() -> None:
    providers = _providers()
    assert list(providers) == ["Paybridge"]
    assert f"/{COMMERCE}/" in providers["Paybridge"], "custom-only orgs must not get it"
    root = parse(
        source_dir(COMMERCE)
        / "paymentGatewayProviders"
        / "Paybridge.paymentGatewayProvider-meta.xml"
    )
    assert child_text(root, "idempotencySupported") == "Yes"
    assert child_text(root, "masterLabel")
    adapter = child_text(root, "apexAdapter")
    source = strip_comments(apex_sources()[adapter or ""])
    assert "implements commercepayments.PaymentGatewayAdapter" in source
    assert "commercepayments.PaymentGatewayAsyncAdapter" in source
    assert (source_dir(COMMERCE) / "classes" / f"{adapter}.cls").exists()


def test_the_adapter_calls_paybridges_action_endpoints_with_the_key_and_its_origin() -> None:
    requests = strip_comments(apex_sources()["PaybridgeGatewayRequests"])
    for action in ("/captures", "/refunds", "/voids"):
        assert f"'{action}'" in requests
    assert "request.setHeader('Idempotency-Key', idempotencyKey)" in requests
    assert "request.setHeader(ORIGIN_HEADER, ORIGIN)" in requests
    assert f"ORIGIN_HEADER = '{ORIGIN_HEADER}'" in requests
    assert f"ORIGIN = '{GATEWAY_ORIGIN}'" in requests
    # The adapter sandbox allows no System.Http: callouts go through PaymentsHttp, relative to
    # the gateway's Named Credential.
    assert "new commercepayments.PaymentsHttp().send(request)" in requests
    assert "new Http()" not in requests
    assert re.search(r"setEndpoint\(\s*'/v1/payments/'", requests)


def test_the_adapter_makes_no_dml() -> None:
    """Adapter code may query but never write (the payments platform writes the records)."""
    for name, text in apex_sources().items():
        if not name.startswith("PaybridgeGateway") or name.endswith("Test"):
            continue
        code = strip_comments(text)
        assert not re.search(r"\b(insert|update|upsert|delete)\s+[\w(]", code), name
        assert "Database." not in code, name


def test_the_notification_secret_is_the_orgs_and_never_shipped() -> None:
    records = list(package_files("Paybridge_Gateway_Setting.*.md-meta.xml"))
    assert records == []
    settings = apex_sources()["PaybridgeGatewaySettings"]
    assert "Paybridge_Gateway_Setting__mdt.getInstance(" in settings
    assert not (source_dir(APP) / "objects" / "Paybridge_Gateway_Setting__mdt").exists()


def test_the_notification_handler_speaks_paybridges_protocol() -> None:
    """Header, tolerance and the "not yet, retry" answer are the ones paybridge uses."""
    handler = strip_comments(apex_sources()["PaybridgeGatewayNotifications"])
    assert f"SIGNATURE_HEADER = '{SIGNATURE_HEADER}'" in handler
    assert f"TOLERANCE_SECONDS = {TOLERANCE_S}" in handler
    assert f"new Reply({NOT_YET}, saved.message)" in handler
    assert "commercepayments.NotificationClient.record(" in handler
