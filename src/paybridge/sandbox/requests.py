"""Payment request bodies as Apex `JSON.serialize` sends them: one sample Order and Contact.

The sandbox's walkthrough, the benchmarks and the tests all build on these, so the sample
Salesforce records are stated once.
"""

from __future__ import annotations

import copy
from typing import Any

TOKEN = "tok_4gzeau5o2uqubbk6fufs3m7p54"

ORDER: dict[str, Any] = {
    "attributes": {
        "type": "Order",
        "url": "/services/data/v66.0/sobjects/Order/8015g00000AbCdEAAV",
    },
    "Id": "8015g00000AbCdEAAV",
    "OrderNumber": "00000100",
    "AccountId": "0015g00000XyZaBAAV",
    "TotalAmount": 149.90,
    "CurrencyIsoCode": "EUR",
    "BillingStreet": "Keizersgracht 1\nSecond floor",
    "BillingCity": "Amsterdam",
    "BillingPostalCode": "1015 CJ",
    "BillingCountryCode": "NL",
    "BillingState": None,
    "Custom_Field__c": "kept but unused",
}

CUSTOMER: dict[str, Any] = {
    "attributes": {"type": "Contact"},
    "Id": "0035g00000QwErTAAV",
    "Email": "ana@example.com",
    "FirstName": "Ana",
    "LastName": "de Vries",
}


def payment_body(**overrides: Any) -> dict[str, Any]:
    """A `POST /v1/payments` body for the sample Order; top-level keys replaced by `overrides`."""
    body: dict[str, Any] = {
        "order": copy.deepcopy(ORDER),
        "customer": copy.deepcopy(CUSTOMER),
        "payment_method": {"type": "token", "token": TOKEN},
        "capture": False,
    }
    body.update(overrides)
    return body


def with_order(**fields: Any) -> dict[str, Any]:
    """`payment_body()` with some of the Order's fields changed."""
    body = payment_body()
    body["order"].update(fields)
    return body
