"""What `paybridge sandbox` prints: where things are, the API key, and copy-paste `curl`s."""

from __future__ import annotations

from paybridge.sandbox.checkout_cards import TEST_VALUES_TEXT, TOKEN_APPROVED, TOKEN_THREE_DS
from paybridge.sandbox.console import PREFIX as CONSOLE
from paybridge.sandbox.wiring import (
    CHECKOUT_MOUNT,
    DEMO_ORDER_ID,
    DEMO_ORDER_NUMBER,
    SALESFORCE_MOUNT,
)


def _payment_body(token: str, *, three_ds: bool) -> str:
    extra = ', "three_ds": true' if three_ds else ""
    return (
        f'{{"order": {{"attributes": {{"type": "Order"}}, "Id": "{DEMO_ORDER_ID}", '
        f'"OrderNumber": "{DEMO_ORDER_NUMBER}", "AccountId": "0015g00000XyZaBAAV", '
        '"TotalAmount": 149.90, "CurrencyIsoCode": "EUR", "BillingStreet": "Keizersgracht 1", '
        '"BillingCity": "Amsterdam", "BillingPostalCode": "1015 CJ", "BillingCountryCode": "NL"}, '
        '"customer": {"attributes": {"type": "Contact"}, "Id": "0035g00000QwErTAAV", '
        '"Email": "ana@example.com", "FirstName": "Ana", "LastName": "de Vries"}, '
        f'"payment_method": {{"type": "token", "token": "{token}"}}, "capture": false{extra}}}'
    )


def walkthrough(*, public_url: str, api_key: str, generated: bool, database_url: str) -> str:
    key_note = (
        "random for this run; set PAYBRIDGE_API_KEYS to choose it"
        if generated
        else "from PAYBRIDGE_API_KEYS"
    )
    pick = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"payment_id\"])'"
    headers = '-H "X-API-Key: $KEY" -H "Content-Type: application/json"'
    key = "-H \"Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')\""
    return f"""\
paybridge sandbox: the API, the worker, and simulated Checkout.com and Salesforce, in one process.

  Console     {public_url}{CONSOLE}
  API         {public_url}/v1   (OpenAPI docs: {public_url}/docs)
  API key     {api_key}   ({key_note})
  Database    {database_url}
  Simulators  {public_url}{CHECKOUT_MOUNT}  and  {public_url}{SALESFORCE_MOUNT}
  Webhooks    signed and posted to {public_url}/v1/webhooks/checkout in the background

Walkthrough (copy-paste into another terminal):

  export PB={public_url} KEY={api_key}
  ik() {{ python3 -c 'import uuid; print(uuid.uuid4())'; }}   # a fresh Idempotency-Key

  # 1. Create a payment (authorized, not captured): 201 Authorized
  PAY=$(curl -s -X POST $PB/v1/payments {headers} {key} \\
    -d '{_payment_body(TOKEN_APPROVED, three_ds=False)}' | {pick}); echo $PAY

  # 2. Capture 50.00 of it, then refund 20.00 (202; Checkout.com confirms by webhook)
  curl -s -X POST $PB/v1/payments/$PAY/captures {headers} {key} \\
    -d '{{"amount": 50.00, "final": false}}'
  sleep 1   # the capture is confirmed by webhook; a refund needs a captured amount
  curl -s -X POST $PB/v1/payments/$PAY/refunds {headers} {key} -d '{{"amount": 20.00}}'

  # 3. Read it: status, amounts, actions, Salesforce sync state
  curl -s $PB/v1/payments/$PAY -H "X-API-Key: $KEY"

  # 4. A 3DS payment: 202 Pending with a redirect_url; open it and click Complete (or Fail)
  curl -s -X POST $PB/v1/payments {headers} {key} \\
    -d '{_payment_body(TOKEN_THREE_DS, three_ds=True)}'

  # 5. Watch it all, and what the simulated Salesforce holds, in the console:
  #    {public_url}{CONSOLE}

{TEST_VALUES_TEXT}
Ctrl-C stops everything.
"""
