"""Both simulators on loopback for the end-to-end suite, with control endpoints and faults.

    python -m tests.e2e.sim_server --ready-file /tmp/sims.json

Checkout.com and Salesforce each listen on a port of their own (the kernel picks free ones);
the ports are written to the ready file once both accept connections. On each port,
`GET /_e2e/state` reads the simulator's state and `POST /_e2e/faults` sets its fault knobs;
Salesforce also has `POST /_e2e/orders` to seed Order records; Checkout.com has
`POST /_e2e/webhooks`, `/_e2e/pay_link` and `/_e2e/expire_link` for Payment Links.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from paybridge.adapters.salesforce.models import encode_json
from paybridge.sandbox.checkout_webhooks import WebhookSender
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator
from tests.webhook_events import SIGNING_KEY

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Control = Callable[[str, str, Any], Awaitable[Any]]

CONTROL_PREFIX = "/_e2e/"
# A lost response is held until paybridge gives up and closes the connection; this bounds
# the wait should it never do so.
LOST_RESPONSE_LIMIT_S = 60.0


class ResponseFaults:
    """Between paybridge and Checkout.com, for requests whose `METHOD /path` fully matches
    `match`: the simulator always does the work, then the next `lose_next` answers are lost
    (held until paybridge's read timeout closes the connection, never sent) and the next
    `hold_next` ones are held until `release()`. `delay_s` makes every answer late."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.match = re.compile(".*")
        self.lose_next = 0
        self.hold_next = 0
        self.delay_s = 0.0
        self.lost = 0
        self.held = 0
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()
        self._released = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matches = self.match.fullmatch(f"{scope.get('method')} {scope.get('path')}") is not None
        lose = matches and self.lose_next > 0
        hold = matches and not lose and self.hold_next > 0
        if scope["type"] != "http" or not (lose or hold or self.delay_s > 0):
            await self.app(scope, receive, send)
            return
        self.lose_next -= lose
        self.hold_next -= hold
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        if lose:
            self.lost += 1
            async with asyncio.timeout(LOST_RESPONSE_LIMIT_S):
                while (await receive())["type"] != "http.disconnect":
                    pass
            return
        if hold:
            self.held += 1
            async with asyncio.timeout(LOST_RESPONSE_LIMIT_S):
                await self._released.wait()
        await asyncio.sleep(self.delay_s)
        for message in answer:
            await send(message)


async def link_control(sim: CheckoutSimulator, path: str, body: Any) -> Any:
    """`webhooks` {url}: send the signed webhooks to paybridge there, as Checkout.com does;
    `pay_link` {link_id, card}: the shopper pays on the hosted page; `expire_link`."""
    if path == "webhooks":
        if sim.webhooks is None:
            sim.webhooks = WebhookSender(signature_key=SIGNING_KEY, retry_backoff_s=0.2)
            sim.webhooks.connect(httpx.AsyncClient(base_url=str(body["url"]), timeout=10.0))
        return {"ok": True}
    if path == "pay_link":
        paid = sim.pay_link(str(body["link_id"]), card=str(body["card"]))
        return {"payment_id": paid.id if paid else None, "approved": bool(paid and paid.approved)}
    if path == "expire_link":
        sim.expire_link(str(body["link_id"]))
        return {"ok": True}
    return None


def checkout_control(sim: CheckoutSimulator, faults: ResponseFaults) -> Control:
    async def control(method: str, path: str, body: Any) -> Any:
        if method == "POST" and path in {"webhooks", "pay_link", "expire_link"}:
            return await link_control(sim, path, body)
        if (method, path) == ("POST", "faults"):
            sim.fail_next = int(body.get("fail_next", sim.fail_next))
            sim.fail_status = int(body.get("fail_status", sim.fail_status))
            faults.match = re.compile(str(body.get("match", faults.match.pattern)))
            faults.lose_next = int(body.get("lose_next", faults.lose_next))
            faults.hold_next = int(body.get("hold_next", faults.hold_next))
            faults.delay_s = float(body.get("delay_s", faults.delay_s))
            if body.get("release"):
                faults.release()
            return {"ok": True}
        if (method, path) == ("GET", "state"):
            return {
                "payments": {pid: asdict(payment) for pid, payment in sim.payments.items()},
                "requests": [
                    {
                        "method": m,
                        "path": p,
                        "idempotency_key": headers.get("cko-idempotency-key"),
                        "reference": body.get("reference") if isinstance(body, dict) else None,
                    }
                    for m, p, headers, body in sim.requests
                ],
                "lost": faults.lost,
                "lose_next": faults.lose_next,
                "held": faults.held,
            }
        return None

    return control


def salesforce_control(sim: SalesforceSimulator) -> Control:
    async def control(method: str, path: str, body: Any) -> Any:
        if (method, path) == ("POST", "faults"):
            if "fail_next" in body:
                sim.fail_next(int(body["fail_next"]), status=int(body.get("fail_status", 503)))
            if "request_limit_exceeded" in body:
                sim.request_limit_exceeded = bool(body["request_limit_exceeded"])
            if "latency_s" in body:
                sim.latency_s = float(body["latency_s"])
            return {"ok": True}
        if (method, path) == ("POST", "orders"):
            for order_id in body["ids"]:
                sim.records.setdefault("Order", {})[order_id] = {"Id": order_id, "Status": "Draft"}
            return {"ok": True}
        if (method, path) == ("GET", "state"):
            return {
                "records": {name: list(rows.values()) for name, rows in sim.records.items()},
                "api_calls": sim.api_calls,
                "token_calls": sim.token_calls,
                "data_requests": len(sim.request_log),
            }
        return None

    return control


def with_control(app: ASGIApp, control: Control) -> ASGIApp:
    """`/_e2e/*` goes to `control` (JSON in, JSON out); everything else to the simulator."""

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(CONTROL_PREFIX):
            await app(scope, receive, send)
            return
        raw = b""
        more = True
        while more:
            message = await receive()
            raw += message.get("body", b"")
            more = bool(message.get("more_body"))
        body = json.loads(raw) if raw else {}
        answer = await control(str(scope["method"]), path.removeprefix(CONTROL_PREFIX), body)
        status = 404 if answer is None else 200
        payload = encode_json(answer if answer is not None else {"error": "no such control"})
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return dispatch


async def serve(ready_file: Path) -> None:
    checkout = CheckoutSimulator()
    faults = ResponseFaults(checkout.app())
    salesforce = SalesforceSimulator()
    apps = {
        "checkout": with_control(faults, checkout_control(checkout, faults)),
        "salesforce": with_control(salesforce.app, salesforce_control(salesforce)),
    }
    servers = {
        name: uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", access_log=False
            )
        )
        for name, app in apps.items()
    }
    tasks = [asyncio.create_task(server.serve()) for server in servers.values()]
    async with asyncio.timeout(30):
        while not all(server.started for server in servers.values()):
            if any(task.done() for task in tasks):
                raise RuntimeError("a simulator server stopped while starting")
            await asyncio.sleep(0.02)
    ports = {
        name: int(server.servers[0].sockets[0].getsockname()[1]) for name, server in servers.items()
    }
    # Salesforce's token answer names the instance: make it this one.
    salesforce.instance_url = f"http://127.0.0.1:{ports['salesforce']}"
    partial = ready_file.with_suffix(".partial")
    partial.write_text(json.dumps(ports), encoding="utf-8")
    os.replace(partial, ready_file)
    await asyncio.gather(*tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready-file", type=Path, required=True)
    asyncio.run(serve(parser.parse_args().ready_file))


if __name__ == "__main__":
    main()
