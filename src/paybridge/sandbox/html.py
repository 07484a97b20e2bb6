"""Tiny server-side HTML for the sandbox pages: every value is escaped, nothing is external."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem}
header a{color:#fff;text-decoration:none}main{padding:1rem 1.2rem;max-width:72rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;background:#fff;font-size:.9rem}
th,td{border:1px solid #d5d9e0;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eceff3}form.inline{display:inline-block;margin:0 .5rem .5rem 0}
fieldset{border:1px solid #d5d9e0;background:#fff;margin:.5rem 0}
.notice{background:#fff7d6;border:1px solid #e8d48a;padding:.4rem .6rem}
.status{font-weight:600}code{background:#eceff3;padding:0 .2rem}
"""


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, refresh_s: int | None = None, notice: str | None = None) -> str:
    """A whole document; `body` must already be escaped HTML."""
    refresh = f'<meta http-equiv="refresh" content="{int(refresh_s)}">' if refresh_s else ""
    banner = f'<p class="notice" id="notice">{esc(notice)}</p>' if notice else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)} · paybridge sandbox</title>{refresh}<style>{_STYLE}</style></head>"
        '<body><header><strong>paybridge sandbox</strong><a href="/sandbox">Payments</a>'
        '<a href="/sandbox/salesforce">Salesforce</a><a href="/docs">API docs</a></header>'
        f"<main><h1>{esc(title)}</h1>{banner}{body}</main></body></html>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, raw: bool = False) -> str:
    """Cells are escaped unless `raw` (then the caller escaped them, e.g. to add a link)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if raw else esc(cell)}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body or '<tr><td colspan=99>none</td></tr>'}</table>"


def record_table(records: Sequence[Mapping[str, Any]]) -> str:
    """Salesforce records, one column per field any of them has."""
    columns: list[str] = []
    for record in records:
        columns.extend(name for name in record if name not in columns and name != "attributes")
    return table(columns, ([esc(r.get(c)) for c in columns] for r in records), raw=True)


def link(href: str, text: str) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def button_form(
    action: str, label: str, *, fields: Mapping[str, str] | None = None, amount: str | None = None
) -> str:
    """A POST form with hidden fields, an optional amount box and one submit button."""
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in (fields or {}).items()
    )
    box = (
        f'<input name="amount" size="8" value="{esc(amount)}" aria-label="{esc(label)} amount">'
        if amount is not None
        else ""
    )
    name = esc(label.lower().replace(" ", "-"))
    return (
        f'<form class="inline" method="post" action="{esc(action)}">{hidden}{box}'
        f'<button type="submit" id="btn-{name}">{esc(label)}</button></form>'
    )
