"""The simulated Checkout.com's shopper-facing pages: the 3DS challenge / APM bank page that a
payment's `redirect_url` points to, with "Complete" and "Fail" buttons, and a Payment Link's
hosted page, where the shopper pays with a test card."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from paybridge.sandbox.checkout_cards import LINK_CARDS
from paybridge.sandbox.checkout_sim import CheckoutSimulator
from paybridge.sandbox.html import button_form, esc, link, page


def _simulator(request: Request) -> CheckoutSimulator:
    simulator = request.app.state.sandbox.checkout
    assert isinstance(simulator, CheckoutSimulator)
    return simulator


def _is_web_url(url: str | None) -> bool:
    return url is not None and urlsplit(url).scheme in {"http", "https"}


def redirect_routes(mount: str, *, console: str) -> list[BaseRoute]:
    """`GET|POST {mount}/redirect/{pid}`; after the outcome the shopper goes to the payment's
    success/failure URL when it has one, else to the console's page of the payment."""

    async def show(request: Request) -> Response:
        pid = request.path_params["pid"]
        payment = _simulator(request).payments.get(pid)
        if payment is None:
            return HTMLResponse(page("Unknown payment", "<p>No such payment.</p>"), 404)
        amount = f"{payment.amount} {payment.currency} (minor units)"
        if payment.status != "Pending":
            body = f"<p>This payment is already <b>{esc(payment.status)}</b>.</p>"
        else:
            action = f"{mount}/redirect/{pid}"
            kind = "3-D Secure challenge" if payment.source_type in {"token", "id"} else "bank page"
            body = (
                f"<p>Simulated {esc(kind)} for <code>{esc(pid)}</code>: {esc(amount)}, "
                f"reference {esc(payment.reference)}.</p>"
                + button_form(action, "Complete", fields={"outcome": "complete"})
                + button_form(action, "Fail", fields={"outcome": "fail"})
            )
        body += "<p>" + link(f"{console}/payments/{pid}", "Open in the console") + "</p>"
        return HTMLResponse(page("Checkout.com (simulated)", body))

    async def decide(request: Request) -> Response:
        pid = request.path_params["pid"]
        async with request.form() as form:
            outcome = form.get("outcome")
        if outcome not in {"complete", "fail"}:
            return HTMLResponse(page("Bad request", "<p>outcome: complete or fail</p>"), 400)
        payment = _simulator(request).complete_redirect(pid, succeeded=outcome == "complete")
        if payment is None:
            return HTMLResponse(page("Unknown payment", "<p>No such payment.</p>"), 404)
        target = payment.success_url if payment.approved else payment.failure_url
        if not _is_web_url(target):
            target = f"{console}/payments/{pid}?notice=" + (
                "3DS completed" if outcome == "complete" else "3DS failed"
            )
        assert target is not None
        return RedirectResponse(target, status_code=303)

    path = mount + "/redirect/{pid}"
    return [Route(path, show, methods=["GET"]), Route(path, decide, methods=["POST"])]


def link_routes(mount: str, *, console: str) -> list[BaseRoute]:
    """`GET|POST {mount}/link/{lid}`: a Payment Link's hosted page. The shopper picks a test
    card; a 3DS card goes on to the challenge page, any other outcome comes back here (a
    declined link stays payable, as Checkout.com's does)."""

    async def show(request: Request) -> Response:
        lid = request.path_params["lid"]
        notice = request.query_params.get("notice")
        sim_link = _simulator(request).links.get(lid)
        if sim_link is None:
            return HTMLResponse(page("Unknown link", "<p>No such payment link.</p>"), 404)
        status = sim_link.status_at(datetime.now(UTC))
        amount = f"{sim_link.amount} {sim_link.currency} (minor units)"
        body = (
            f"<p>Payment link <code>{esc(lid)}</code>: {esc(amount)}, reference "
            f"{esc(sim_link.reference)}, <b>{esc(status)}</b>.</p>"
        )
        if status == "Active":
            options = "".join(
                f'<option value="{esc(card)}">{esc(card)} ({esc(label)})</option>'
                for card, label in LINK_CARDS.items()
            )
            body += (
                f'<form method="post" action="{esc(mount)}/link/{esc(lid)}" id="pay-link">'
                f'<label>Card <select name="card" id="card">{options}</select></label> '
                '<button type="submit" id="btn-pay">Pay</button></form>'
            )
        body += "<p>" + link(f"{console}/links", "Payment links in the console") + "</p>"
        return HTMLResponse(page("Checkout.com Payment Link (simulated)", body, notice=notice))

    async def pay(request: Request) -> Response:
        lid = request.path_params["lid"]
        async with request.form() as form:
            card = str(form.get("card") or "")
        if card not in LINK_CARDS:
            return HTMLResponse(page("Bad request", "<p>card: one of the test cards</p>"), 400)
        payment = _simulator(request).pay_link(lid, card=card)
        back = f"{mount}/link/{lid}?notice="
        if payment is None:
            return RedirectResponse(back + "This link can no longer be paid", status_code=303)
        if payment.redirect_url:
            return RedirectResponse(payment.redirect_url, status_code=303)
        outcome = "Payment approved" if payment.approved else "Payment declined: try again"
        return RedirectResponse(back + quote(outcome), status_code=303)

    path = mount + "/link/{lid}"
    return [Route(path, show, methods=["GET"]), Route(path, pay, methods=["POST"])]
