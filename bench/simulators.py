"""The test simulators served on loopback for benchmarks, with timing taps.

    python -m bench.simulators checkout --port 8200 --latency-ms 50
    python -m bench.simulators salesforce --port 8300 --latency-ms 100 --orders 5000

Each wraps the simulator's ASGI app and adds `/_bench/*` endpoints:
- Checkout.com: `GET /_bench/timings` → {pay_id: seconds the simulator spent answering the
  `POST /payments` that created it} (its own processing time, the simulated latency included).
- Salesforce: `GET /_bench/counts` → API and token calls, payment records written;
  `GET /_bench/writes` → {CKO payment id: wall-clock time its record first appeared}, stamped
  when the data request that wrote it answers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from bench.traffic import order_id
from paybridge.sandbox.checkout_sim import CheckoutSimulator
from paybridge.sandbox.salesforce_sim import SalesforceSimulator

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PAYMENT_SOBJECT = "CKO_Payment__c"
PAYMENT_KEY = "CKO_Payment_Id__c"


async def _json(send: Send, payload: object) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def checkout_app(sim: CheckoutSimulator) -> ASGIApp:
    inner = sim.app()
    timings: dict[str, float] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        if scope["path"] == "/_bench/timings":
            await _json(send, timings)
            return
        if scope["path"] == "/_bench/healthz":
            await _json(send, {"status": "ok"})
            return
        if not (scope["method"] == "POST" and scope["path"] == "/payments"):
            await inner(scope, receive, send)
            return
        started = time.perf_counter()
        body: list[bytes] = []

        async def tap(message: Message) -> None:
            if message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body"):
                    try:
                        pay_id = str(json.loads(b"".join(body))["id"])
                    except (ValueError, KeyError, TypeError):
                        pay_id = ""
                    if pay_id:
                        timings[pay_id] = time.perf_counter() - started
            await send(message)

        await inner(scope, receive, tap)

    return app


def salesforce_app(sim: SalesforceSimulator) -> ASGIApp:
    inner = sim.app
    writes: dict[str, float] = {}
    seen = 0

    def stamp() -> None:
        """Time every payment record that appeared since the last data request."""
        nonlocal seen
        records = sim.records.get(PAYMENT_SOBJECT, {})
        seen = min(seen, len(records))  # an allOrNone rollback can shrink the table
        now = time.time()
        for row in itertools.islice(records.values(), seen, None):
            writes.setdefault(str(row.get(PAYMENT_KEY)), now)
        seen = len(records)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        path = scope["path"]
        if path == "/_bench/writes":
            await _json(send, writes)
        elif path == "/_bench/counts":
            counts = {"api_calls": sim.api_calls, "token_calls": sim.token_calls}
            await _json(send, {**counts, "written": len(writes)})
        elif path == "/_bench/healthz":
            await _json(send, {"status": "ok"})
        else:
            await inner(scope, receive, send)
            if path.startswith("/services/data/"):
                stamp()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=["checkout", "salesforce"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--orders", type=int, default=0, help="Salesforce Orders to seed")
    args = parser.parse_args()
    app: ASGIApp
    if args.which == "checkout":
        app = checkout_app(CheckoutSimulator(latency_s=args.latency_ms / 1000))
    else:
        sim = SalesforceSimulator(instance_url=f"http://{args.host}:{args.port}")
        sim.latency_s = args.latency_ms / 1000
        for n in range(args.orders):
            sim.records.setdefault("Order", {})[order_id(n)] = {"Id": order_id(n)}
        app = salesforce_app(sim)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
