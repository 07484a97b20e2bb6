"""Request bodies as Apex `JSON.serialize` would send them; they live in the package
(`paybridge.sandbox.requests`), where the benchmarks use them too."""

from __future__ import annotations

from paybridge.sandbox.requests import CUSTOMER, ORDER, TOKEN, payment_body, with_order

__all__ = ["CUSTOMER", "ORDER", "TOKEN", "payment_body", "with_order"]
