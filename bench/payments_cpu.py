"""`POST /v1/payments` work per payment, in one process: statements, transactions, CPU.

    .venv/bin/python -m bench.payments_cpu [--payments 300] [--warmup 50]

The app is driven in-process (httpx's ASGI transport, no server, no sockets on the HTTP
side) against its own PostgreSQL database, with Checkout.com answered by a canned
MockTransport (a fresh `pay_…` id per call), so what is counted is paybridge's own work:
its validation, mapping, transactions, logging and the HTTP client's request handling.

On a machine shared with other work, CPU time moves with the neighbours. Instruction counts
do not: run it twice under callgrind and difference the totals,

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python -m bench.payments_cpu --payments 20 --warmup 10
    valgrind … --payments 120 --warmup 10

(instructions per payment = (total₁₂₀ − total₂₀) / 100; user space only — the kernel's part
of each database round trip is not in it, which is why the round trips are counted too).
Figures: bench/results/payments_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
import uuid
from typing import Any

import httpx
from sqlalchemy import event

from bench.harness import (
    API_KEY,
    CHANNEL,
    CHECKOUT_SECRET,
    SIGNING_KEY,
    bench_database,
    machine,
    run_main,
    sqlalchemy_url,
    write_results,
)
from paybridge.app import build_container, create_app
from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import upgrade_to_head
from paybridge.sandbox.requests import payment_body
from paybridge.settings import Settings


def checkout_answer(request: httpx.Request) -> httpx.Response:
    """An approved authorization, shaped as Checkout.com's 201 (a new payment id each time)."""
    sent = json.loads(request.content)
    payment_id = "pay_" + secrets.token_hex(13)
    return httpx.Response(
        201,
        json={
            "id": payment_id,
            "action_id": "act_" + secrets.token_hex(13),
            "amount": sent["amount"],
            "currency": sent["currency"],
            "approved": True,
            "status": "Authorized",
            "auth_code": "123456",
            "response_code": "10000",
            "response_summary": "Approved",
            "reference": sent.get("reference"),
            "processed_on": "2026-12-05T10:00:00Z",
            "source": {"type": "card", "id": "src_" + secrets.token_hex(13), "last4": "4242"},
            "_links": {"self": {"href": f"https://api.checkout.test/payments/{payment_id}"}},
        },
        headers={"Cko-Request-Id": str(uuid.uuid4())},
    )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    async with bench_database("payments_cpu") as db:
        url = sqlalchemy_url(db)
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()
        settings = Settings(
            database_url=url,
            api_keys=API_KEY,
            checkout={
                "secret_key": CHECKOUT_SECRET,
                "processing_channel_id": CHANNEL,
                "webhook_signature_keys": SIGNING_KEY,
            },
            worker={"embedded": False},
        )
        container = build_container(
            settings, checkout_transport=httpx.MockTransport(checkout_answer)
        )
        app = create_app(settings, container=container)
        counts = dict.fromkeys(("statements", "transactions", "commits"), 0)

        def count(name: str) -> Any:
            return lambda *_: counts.__setitem__(name, counts[name] + 1)

        sync_engine = container.engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", count("statements"))
        event.listen(sync_engine, "begin", count("transactions"))
        event.listen(sync_engine, "commit", count("commits"))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app), base_url="http://paybridge"
            ) as http,
        ):

            async def pay(n: int) -> None:
                body = payment_body()
                body["order"]["OrderNumber"] = f"CPU{n:08d}"
                headers = {
                    "Content-Type": "application/json",
                    "X-API-Key": API_KEY,
                    "Idempotency-Key": f"bench-cpu-{n:010d}",
                }
                response = await http.post(
                    "/v1/payments", content=json.dumps(body), headers=headers
                )
                if response.status_code != 201:
                    raise RuntimeError(f"payment {n}: {response.status_code} {response.text}")

            for n in range(args.warmup):
                await pay(n)
            counts.update(dict.fromkeys(counts, 0))
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            for n in range(args.warmup, args.warmup + args.payments):
                await pay(n)
            cpu_s = time.process_time() - cpu_started
            wall_s = time.perf_counter() - wall_started
    report.update(
        payments=args.payments,
        cpu_ms_per_payment=round(cpu_s * 1000 / args.payments, 3),
        wall_ms_per_payment=round(wall_s * 1000 / args.payments, 3),
        **{f"{name}_per_payment": round(n / args.payments, 2) for name, n in counts.items()},
    )
    return report


def show(report: dict[str, Any]) -> None:
    print(
        f"{report['payments']} payments, one at a time, in-process: "
        f"{report['cpu_ms_per_payment']} ms CPU per payment "
        f"(wall {report['wall_ms_per_payment']} ms); "
        f"per payment {report['statements_per_payment']} statements in "
        f"{report['transactions_per_payment']} transactions "
        f"({report['commits_per_payment']} commits), each transaction adding BEGIN and COMMIT"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    result = run_main(main(arguments))
    show(result)
    write_results("payments_cpu", result)
