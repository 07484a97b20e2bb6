"""Checkout.com adapter: typed async client, wire models, errors and webhook signatures."""

from paybridge.adapters.checkout.client import CheckoutCallRecord, CheckoutClient
from paybridge.adapters.checkout.errors import (
    CheckoutActionNotAllowed,
    CheckoutAuthError,
    CheckoutConflict,
    CheckoutError,
    CheckoutNotFound,
    CheckoutUnavailable,
    CheckoutUnexpectedResponse,
    CheckoutValidationError,
)

__all__ = [
    "CheckoutActionNotAllowed",
    "CheckoutAuthError",
    "CheckoutCallRecord",
    "CheckoutClient",
    "CheckoutConflict",
    "CheckoutError",
    "CheckoutNotFound",
    "CheckoutUnavailable",
    "CheckoutUnexpectedResponse",
    "CheckoutValidationError",
]
