"""What the OpenAPI document says beyond the routes: tags, servers, how callers authenticate,
and one example error envelope per status (codes the service really returns)."""

from __future__ import annotations

from typing import Any

CONTACT: dict[str, str] = {"name": "paybridge maintainers (see README.md)"}

TAGS: list[dict[str, str]] = [
    {
        "name": "payments",
        "description": "Create a payment from a Salesforce Order and read payments back.",
    },
    {
        "name": "payment links",
        "description": "A Checkout.com Payment Link for an Order: the shopper pays on "
        "Checkout.com's page, no card token needed in Salesforce.",
    },
    {
        "name": "lifecycle",
        "description": "Capture, void and refund a payment; outcomes arrive by webhook.",
    },
    {
        "name": "disputes",
        "description": "Read chargebacks, accept them or answer them with evidence.",
    },
    {
        "name": "webhooks",
        "description": "Where Checkout.com delivers its events (signed, not API-key callers).",
    },
    {"name": "operations", "description": "Liveness, readiness and metrics for operators."},
]

SERVERS: list[dict[str, Any]] = [
    {
        "url": "{base_url}",
        "description": "Your paybridge deployment (the Salesforce Named Credential's URL).",
        "variables": {
            "base_url": {
                "default": "http://localhost:8000",
                "description": "Scheme, host and port paybridge listens on.",
            }
        },
    }
]

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "One of the keys in PAYBRIDGE_API_KEYS (several allow rotation).",
    },
    "SalesforceJwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT Salesforce mints for the Named Credential (RS256/RS512), "
        "verified with the certificate in PAYBRIDGE_JWT__CERTIFICATE_FILE against "
        "PAYBRIDGE_JWT__ISSUER and PAYBRIDGE_JWT__AUDIENCE; only when those are configured.",
    },
}

# Either scheme suffices (OpenAPI: alternatives are separate entries).
CALLER_SECURITY: list[dict[str, list[str]]] = [{"ApiKey": []}, {"SalesforceJwt": []}]

_ERROR_EXAMPLES: dict[str, tuple[str, str]] = {
    "400": ("idempotency_key_missing", "The Idempotency-Key header is required."),
    "401": ("unauthorized", "Missing or invalid X-API-Key."),
    "404": ("payment_not_found", "No payment pay_mbabizu24mvu3mela5njyhpit4."),
    "409": (
        "idempotency_key_in_flight",
        "A request with this Idempotency-Key is still being processed.",
    ),
    "413": ("payload_too_large", "Body exceeds 262144 bytes."),
    "415": ("unsupported_media_type", "Content-Type must be application/json."),
    "422": ("validation_failed", "The request is invalid."),
    "502": ("upstream_auth_failed", "Checkout.com refused the credentials"),
    "503": (
        "upstream_unavailable",
        "Checkout.com call timed out: ReadTimeout (payment.create)",
    ),
}


def error_example(status: str) -> dict[str, Any] | None:
    """The envelope a caller sees for `status`; None for statuses without one."""
    if status not in _ERROR_EXAMPLES:
        return None
    code, message = _ERROR_EXAMPLES[status]
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "request_id": "5f0c3a52-2f0e-4a61-9d0b-7f6d2c1b9e10",
        "details": [],
    }
    if status == "422":
        body["details"] = [
            {
                "field": "order.CurrencyIsoCode",
                "code": "invalid_currency",
                "message": "'EUX' is not an ISO 4217 code",
            }
        ]
    return {"error": body}
