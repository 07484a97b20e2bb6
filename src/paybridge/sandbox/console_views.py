"""The console's pages, rendered from paybridge's API answers and the simulators' state."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from paybridge.sandbox.html import button_form, esc, link, page, record_table, table

if TYPE_CHECKING:
    from paybridge.sandbox.wiring import Sandbox

_RECENT_S = 3.0


def _positive(value: object) -> bool:
    try:
        return Decimal(str(value)) > 0
    except ArithmeticError:
        return False


def payments_table(prefix: str, payments: list[dict[str, Any]]) -> str:
    rows = []
    for p in payments:
        amounts = p["amounts"]
        rows.append(
            [
                link(f"{prefix}/payments/{quote(p['payment_id'])}", p["payment_id"]),
                f'<span class="status">{esc(p["status"])}</span>',
                esc(f"{p['amount']} {p['currency']}"),
                esc(amounts["captured"]),
                esc(amounts["refunded"]),
                esc(p.get("reference")),
                esc(p.get("order_id")),
                esc(p["created_at"]),
            ]
        )
    headers = ["Payment", "Status", "Amount", "Captured", "Refunded", "Reference", "Order", "At"]
    return table(headers, rows, raw=True)


def links_table(prefix: str, links: list[dict[str, Any]]) -> str:
    """Payment links with their state, their page and the payment made through them."""
    rows = [
        (
            link(item["url"], item["link_id"]) if item.get("url") else esc(item["link_id"]),
            esc(item["status"]),
            esc(f"{item['amount']} {item['currency']}"),
            esc(item["reference"]),
            esc(item["expires_at"]),
            link(f"{prefix}/payments/{item['payment_id']}", item["payment_id"])
            if item.get("payment_id")
            else "",
        )
        for item in links
    ]
    return table(["Link", "Status", "Amount", "Order", "Expires", "Payment"], rows, raw=True)


def _next_steps(prefix: str, payment: dict[str, Any]) -> str:
    pid = quote(payment["payment_id"], safe="")
    base = f"{prefix}/payments/{pid}"
    amounts = payment["amounts"]
    steps: list[str] = []
    if payment["status"] == "Pending" and payment.get("redirect_url"):
        redirect = f"/sandbox/checkout/redirect/{pid}"
        steps.append(link(payment["redirect_url"], "Open the 3DS page") + " ")
        steps.append(button_form(redirect, "Complete 3DS", fields={"outcome": "complete"}))
        steps.append(button_form(redirect, "Fail 3DS", fields={"outcome": "fail"}))
    to_capture, to_refund = amounts["available_to_capture"], amounts["available_to_refund"]
    if _positive(to_capture):
        fields = {"available": to_capture}
        steps.append(button_form(f"{base}/captures", "Capture", fields=fields, amount=to_capture))
    if _positive(amounts.get("available_to_void")):
        steps.append(button_form(f"{base}/voids", "Void"))
    if _positive(to_refund):
        steps.append(button_form(f"{base}/refunds", "Refund", amount=to_refund))
        if not payment.get("disputes"):
            steps.append(button_form(f"{base}/disputes", "Open a dispute"))
    for dispute in payment.get("disputes") or []:
        if dispute["status"] == "evidence_required":
            steps.append(
                button_form(
                    f"{prefix}/disputes/{quote(dispute['dispute_id'], safe='')}/accept",
                    "Accept dispute",
                    fields={"payment_id": payment["payment_id"]},
                )
            )
    if not steps:
        return "<p>No next step: the payment is final or waiting for news.</p>"
    return "<fieldset><legend>Next step</legend>" + "".join(steps) + "</fieldset>"


def _salesforce_records(sandbox: Sandbox, payment: dict[str, Any]) -> str:
    """The payment's Order, the records naming the payment or its disputes (payment record,
    Cases) and, one hop further, those naming them (actions, integration logs)."""
    org = sandbox.salesforce.records
    found: dict[str, dict[str, dict[str, Any]]] = {}
    order = org.get("Order", {}).get(payment.get("order_id") or "")
    if order is not None:
        found["Order"] = {order["Id"]: order}
    keys = {payment["payment_id"]} | {d["dispute_id"] for d in payment.get("disputes") or []}
    for _ in range(2):
        for sobject, records in org.items():
            for record_id, record in records.items():
                if sobject != "Order" and any(
                    v in keys for v in record.values() if isinstance(v, str)
                ):
                    found.setdefault(sobject, {})[record_id] = record
        keys |= {rid for sobject, records in found.items() if sobject != "Order" for rid in records}
    parts = [
        f"<h3>{esc(sobject)}</h3>" + record_table(list(records.values()))
        for sobject, records in sorted(found.items())
    ]
    return "".join(parts) or "<p>Nothing written to Salesforce yet.</p>"


def _is_moving(sandbox: Sandbox, payment: dict[str, Any], deliveries: list[Any]) -> bool:
    """Refresh the page while webhooks, the worker or the Salesforce sync are still busy."""
    sync = payment["salesforce"]
    return (
        sandbox.webhooks.in_flight() > 0
        or any(d.is_recent(_RECENT_S) or d.outcome == "retrying" for d in deliveries)
        or sync["synced_version"] < sync["version"]
        or any(a["status"] == "Requested" for a in payment["actions"])
    )


def payment_page(
    sandbox: Sandbox, prefix: str, payment: dict[str, Any], *, notice: str | None
) -> str:
    amounts, sync = payment["amounts"], payment["salesforce"]
    summary = table(
        ["Status", "Amount", "Reference", "Order", "Response", "Method", "Redirect"],
        [
            [
                payment["status"],
                f"{payment['amount']} {payment['currency']}",
                payment.get("reference") or "",
                payment.get("order_id") or "",
                f"{payment.get('response_code') or ''} {payment.get('response_summary') or ''}",
                payment.get("payment_method") or "",
                payment.get("redirect_url") or "",
            ]
        ],
    )
    amount_names = list(amounts)
    amount_table = table(amount_names, [[amounts[name] for name in amount_names]])
    actions = table(
        ["Action", "Type", "Amount", "Status", "Response", "Requested", "Processed"],
        [
            [
                a["action_id"],
                a["type"],
                a.get("amount") or "",
                a["status"],
                a.get("response_code") or "",
                a.get("requested_at") or "",
                a.get("processed_at") or "",
            ]
            for a in payment["actions"]
        ],
    )
    settlement = _settlement_section(prefix, payment)
    disputes = table(
        ["Dispute", "Status", "Category", "Amount", "Evidence due"],
        [
            [
                d["dispute_id"],
                d["status"],
                d.get("category"),
                d.get("amount"),
                d.get("evidence_required_by"),
            ]
            for d in payment.get("disputes") or []
        ],
    )
    subjects = {payment["payment_id"]} | {d["dispute_id"] for d in payment.get("disputes") or []}
    deliveries = [d for d in sandbox.webhooks.deliveries if d.subject_id in subjects]
    webhooks = table(
        ["Event", "Type", "Attempts", "HTTP", "paybridge said", "Delivery"],
        [[d.event_id, d.type, d.attempts, d.http_status, d.ack, d.outcome] for d in deliveries],
    )
    sync_table = table(
        ["Version", "Synced version", "Last synced", "Last error"],
        [
            [
                sync["version"],
                sync["synced_version"],
                sync.get("last_synced_at"),
                sync.get("last_error"),
            ]
        ],
    )
    body = (
        summary
        + _next_steps(prefix, payment)
        + "<h2>Amounts</h2>"
        + amount_table
        + "<h2>Actions</h2>"
        + actions
        + "<h2>Fees and settlement</h2>"
        + settlement
        + "<h2>Disputes</h2>"
        + disputes
        + "<h2>Webhooks from Checkout.com (simulated) and paybridge's answers</h2>"
        + webhooks
        + "<h2>Salesforce sync</h2>"
        + sync_table
        + "<h2>Records in the simulated Salesforce</h2>"
        + _salesforce_records(sandbox, payment)
    )
    refresh = 1 if _is_moving(sandbox, payment, deliveries) else None
    return page(f"Payment {payment['payment_id']}", body, refresh_s=refresh, notice=notice)


def _settlement_section(prefix: str, payment: dict[str, Any]) -> str:
    """Per settled capture or refund, the payment's totals, and a button to ask now (the
    daily sweep would otherwise ask tomorrow)."""
    settled = [a for a in payment["actions"] if a.get("settlement")]
    per_action = table(
        ["Action", "Type", "Currency", "Gross", "Processing", "Scheme", "Interchange", "Net",
         "Settled on", "Payout"],
        [
            [
                a["action_id"],
                a["type"],
                s["currency"],
                s.get("gross") or "",
                s["processing_fees"],
                s["scheme_fees"],
                s["interchange"],
                s.get("net") or "",
                s["settled_on"],
                s.get("payout_id") or "",
            ]
            for a in settled
            for s in [a["settlement"]]
        ],
    )  # fmt: skip
    totals = table(
        ["Currency", "Gross", "Fees", "Net", "Settled actions"],
        [
            [t["currency"], t["gross"], t["fees"], t["net"], t["settled_actions"]]
            for t in payment.get("settlement") or []
        ],
    )
    expires = payment.get("authorization_expires_at")
    expiry = f"<p>Authorization expires at {esc(expires)}</p>" if expires else ""
    ask = button_form(
        f"{prefix}/payments/{quote(payment['payment_id'], safe='')}/settlement",
        "Ask Checkout.com for fees and settlement",
    )
    return expiry + per_action + totals + ask


def salesforce_page(sandbox: Sandbox) -> str:
    org = sandbox.salesforce
    counts = table(
        ["API calls", "Token requests", "Daily limit"],
        [[org.api_calls, org.token_calls, org.api_limit]],
    )
    parts = [
        f"<h2>{esc(sobject)} ({len(records)})</h2>" + record_table(list(records.values()))
        for sobject, records in sorted(org.records.items())
        if records
    ]
    return page("Simulated Salesforce", counts + "".join(parts))
