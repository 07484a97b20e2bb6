"""The sandbox console (`/sandbox`): payments, their actions and webhooks, and what the
simulated Salesforce holds, with buttons for the next step.

Every change goes through paybridge's public API (`X-API-Key`, `Idempotency-Key`), exactly as
Salesforce would call it, so a click exercises the whole flow; what only the outside world
does (a shopper finishing 3DS, a cardholder's chargeback) goes to the simulators.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from paybridge.sandbox.checkout_cards import TEST_VALUES_TEXT, TOKEN_APPROVED, TOKEN_THREE_DS
from paybridge.sandbox.console_views import (
    links_table,
    payment_page,
    payments_table,
    salesforce_page,
)
from paybridge.sandbox.html import esc, link, page
from paybridge.schemas.payments import EXAMPLE_CUSTOMER, EXAMPLE_ORDER

if TYPE_CHECKING:
    from paybridge.sandbox.wiring import Sandbox

PREFIX = "/sandbox"
_CURRENCIES = ("EUR", "GBP", "USD")
_ACTIONS = {"captures", "refunds", "voids"}


router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _back(path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?notice={quote(notice[:300])}", status_code=303)


def _error_text(response: Any) -> str:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
    details = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.get("details", []))
    return f"{response.status_code} {error.get('code')}: {error.get('message')} {details}".strip()


def _amount(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def _create_form() -> str:
    currencies = "".join(f"<option>{c}</option>" for c in _CURRENCIES)
    return (
        "<fieldset><legend>Create a payment (a new Order in the simulated Salesforce)</legend>"
        '<form method="post" action="/sandbox/payments" id="create-payment">'
        '<label>Amount <input name="amount" id="amount" value="149.90" size="8"></label> '
        f'<label>Currency <select name="currency">{currencies}</select></label> '
        '<label>Card <select name="token" id="token">'
        f'<option value="{TOKEN_APPROVED}">approved token</option>'
        f'<option value="{TOKEN_THREE_DS}">3DS challenge token</option></select></label> '
        '<label><input type="checkbox" name="capture" value="true"> capture at once</label> '
        '<button type="submit" id="btn-create">Create payment</button></form>'
        f"<pre>{esc(TEST_VALUES_TEXT)}</pre></fieldset>"
    )


def _new_order(sandbox: Sandbox, amount: Decimal, currency: str) -> dict[str, Any]:
    """A new Order in the simulated Salesforce, and the `order`/`customer` Apex would send
    (`TotalAmount` a placeholder that `_post_exact` fills in)."""
    number = sandbox.next_order_number()
    # An Id shaped like a real one: letters break the digit runs the card guard refuses.
    order_id = f"8015g{int(number) % 100_000:05d}SandboxQ"
    sandbox.salesforce.records.setdefault("Order", {})[order_id] = {
        "Id": order_id,
        "OrderNumber": number,
        "Status": "Draft",
        "TotalAmount": str(amount),
        "CurrencyIsoCode": currency,
    }
    return {
        "order": {
            **EXAMPLE_ORDER,
            "Id": order_id,
            "OrderNumber": number,
            "TotalAmount": "__AMOUNT__",
            "CurrencyIsoCode": currency,
        },
        "customer": EXAMPLE_CUSTOMER,
    }


async def _post_exact(sandbox: Sandbox, path: str, body: dict[str, Any], amount: Decimal) -> Any:
    # Apex sends a JSON number; keep it exact (never through a float).
    raw = json.dumps(body).replace('"__AMOUNT__"', str(amount))
    return await sandbox.api.post(
        path,
        content=raw,
        headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
    )


@router.get("", response_class=HTMLResponse)
async def index(request: Request, notice: str | None = None) -> HTMLResponse:
    sandbox = _sandbox(request)
    rows = []
    for pid in reversed(list(sandbox.checkout.payments)[-100:]):
        response = await sandbox.api.get(f"/v1/payments/{pid}")
        if response.status_code == 200:
            rows.append(response.json())
    body = (
        _create_form()
        + _link_form()
        + "<p>"
        + link(f"{PREFIX}/links", "Payment links")
        + "</p><h2>Payments</h2>"
        + payments_table(PREFIX, rows)
    )
    return HTMLResponse(page("Payments", body, notice=notice))


@router.post("/payments")
async def create(request: Request) -> Response:
    sandbox = _sandbox(request)
    async with request.form() as form:
        amount, currency = _amount(form.get("amount")), str(form.get("currency") or "EUR")
        token, capture = str(form.get("token") or TOKEN_APPROVED), bool(form.get("capture"))
    if amount is None or currency not in _CURRENCIES:
        return _back(PREFIX, "Amount must be a positive number, e.g. 149.90")
    body = {
        **_new_order(sandbox, amount, currency),
        "payment_method": {"type": "token", "token": token},
        "capture": capture,
    }
    response = await _post_exact(sandbox, "/v1/payments", body, amount)
    if response.status_code not in (201, 202):
        return _back(PREFIX, f"Create refused: {_error_text(response)}")
    created = response.json()
    notice = f"Created {created['payment_id']}: {created['status']}"
    if created.get("redirect_url"):
        notice += " — the shopper must complete 3DS"
    return _back(f"{PREFIX}/payments/{created['payment_id']}", notice)


@router.get("/payments/{pid}", response_class=HTMLResponse)
async def show(request: Request, pid: str, notice: str | None = None) -> HTMLResponse:
    sandbox = _sandbox(request)
    response = await sandbox.api.get(f"/v1/payments/{quote(pid, safe='')}")
    if response.status_code != 200:
        body = f"<p>{esc(_error_text(response))}</p>"
        return HTMLResponse(page("Payment not found", body), status_code=404)
    return HTMLResponse(payment_page(sandbox, PREFIX, response.json(), notice=notice))


@router.post("/payments/{pid}/{action}")
async def act(request: Request, pid: str, action: str) -> Response:
    sandbox = _sandbox(request)
    pid = quote(pid, safe="")
    back = f"{PREFIX}/payments/{pid}"
    if action == "disputes":
        did = sandbox.checkout.open_dispute(pid)
        return _back(back, f"Dispute {did} opened" if did else "Nothing captured to dispute")
    if action == "settlement":
        changed = await sandbox.app.state.container.settlement.settle_payment(pid)
        return _back(back, f"Settlement of {changed} action(s) updated")
    if action not in _ACTIONS:
        return _back(back, f"Unknown action {action}")
    async with request.form() as form:
        text, available = form.get("amount"), form.get("available")
    body: dict[str, Any] = {}
    if action != "voids" and text:
        amount = _amount(text)
        if amount is None:
            return _back(back, "Amount must be a positive number")
        body["amount"] = str(amount)
        if action == "captures":
            body["final"] = amount >= (_amount(available) or amount)
    response = await sandbox.api.post(
        f"/v1/payments/{pid}/{action}",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    if response.status_code != 202:
        return _back(back, f"{action} refused: {_error_text(response)}")
    accepted = response.json()
    await sandbox.webhooks.wait_idle(2.0)  # the confirming webhook, usually at once
    return _back(back, f"{accepted['type']} {accepted['action_id']} requested")


@router.post("/disputes/{did}/accept")
async def accept(request: Request, did: str) -> Response:
    sandbox = _sandbox(request)
    async with request.form() as form:
        pid = str(form.get("payment_id") or "")
    response = await sandbox.api.post(
        f"/v1/disputes/{quote(did, safe='')}/accept", headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    notice = "accepted" if response.status_code == 202 else _error_text(response)
    return _back(
        f"{PREFIX}/payments/{quote(pid, safe='')}" if pid else PREFIX, f"Dispute {did}: {notice}"
    )


def _link_form() -> str:
    currencies = "".join(f"<option>{c}</option>" for c in _CURRENCIES)
    return (
        "<fieldset><legend>Create a payment link (a new Order in the simulated Salesforce)"
        '</legend><form method="post" action="/sandbox/links" id="create-link">'
        '<label>Amount <input name="amount" value="149.90" size="8"></label> '
        f'<label>Currency <select name="currency">{currencies}</select></label> '
        '<label>Expires in (s) <input name="expires_in" value="86400" size="8"></label> '
        '<button type="submit" id="btn-create-link">Create link</button></form></fieldset>'
    )


@router.get("/links", response_class=HTMLResponse)
async def links(request: Request, notice: str | None = None) -> HTMLResponse:
    sandbox = _sandbox(request)
    rows = []
    for lid in reversed(list(sandbox.checkout.links)[-100:]):
        response = await sandbox.api.get(f"/v1/payment-links/{lid}")
        if response.status_code == 200:
            rows.append(response.json())
    body = _link_form() + "<h2>Payment links</h2>" + links_table(PREFIX, rows)
    return HTMLResponse(page("Payment links", body, notice=notice))


@router.post("/links")
async def create_link(request: Request) -> Response:
    sandbox = _sandbox(request)
    back = f"{PREFIX}/links"
    async with request.form() as form:
        amount, currency = _amount(form.get("amount")), str(form.get("currency") or "EUR")
        expires_in = str(form.get("expires_in") or "86400").strip()
    if amount is None or currency not in _CURRENCIES or not expires_in.isdigit():
        return _back(back, "Amount must be a positive number; expires in, whole seconds")
    body = {**_new_order(sandbox, amount, currency), "expires_in": int(expires_in)}
    response = await _post_exact(sandbox, "/v1/payment-links", body, amount)
    if response.status_code != 201:
        return _back(back, f"Link refused: {_error_text(response)}")
    return _back(back, f"Created {response.json()['link_id']}: open its page to pay")


@router.get("/salesforce", response_class=HTMLResponse)
async def salesforce(request: Request) -> HTMLResponse:
    return HTMLResponse(salesforce_page(_sandbox(request)))
