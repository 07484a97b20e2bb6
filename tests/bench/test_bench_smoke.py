"""The benchmark's bare baseline endpoint works (no timings here: figures live in bench/)."""

from __future__ import annotations

import argparse
import asyncio

import asyncpg
import httpx
import pytest
from bench.baseline_app import Message, create_app
from bench.harness import SIGNING_KEY, bench_database, database_dsn
from bench.traffic import webhooks

from bench import payments_cpu
from paybridge.adapters.checkout.signatures import verify_signature

pytestmark = pytest.mark.postgres


def _split(wire: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")[1:]
    headers = dict(line.split(": ", 1) for line in lines)
    for name in ("Host", "Content-Length"):
        headers.pop(name)
    return headers, body


def test_bench_webhooks_carry_signatures_paybridge_accepts() -> None:
    spec = {"signing_key": SIGNING_KEY, "prefix": "s", "start": 0, "count": 2, "orders": True}
    for item in webhooks(spec, "bench"):
        headers, body = _split(item.wire)
        assert verify_signature(body, headers["Cko-Signature"], [SIGNING_KEY])
        assert item.tag.startswith("pay_")
        assert len(item.tag) == 30


async def test_baseline_verifies_the_signature_and_stores_each_event_once() -> None:
    spec = {"signing_key": SIGNING_KEY, "prefix": "s", "start": 0, "count": 1}
    headers, body = _split(webhooks(spec, "bench")[0].wire)
    async with bench_database("smoke") as name:
        app = create_app(database_dsn(name), SIGNING_KEY, pool_size=1)
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        outbox: asyncio.Queue[Message] = asyncio.Queue()

        async def run_lifespan() -> None:
            await app({"type": "lifespan"}, inbox.get, outbox.put)

        lifespan = asyncio.create_task(run_lifespan())
        await inbox.put({"type": "lifespan.startup"})
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                first = await http.post("/", content=body, headers=headers)
                again = await http.post("/", content=body, headers=headers)
                forged = await http.post("/", content=body + b" ", headers=headers)
            assert [first.status_code, again.status_code, forged.status_code] == [200, 200, 401]
        finally:
            await inbox.put({"type": "lifespan.shutdown"})
            await lifespan
        conn = await asyncpg.connect(database_dsn(name))
        try:
            assert await conn.fetchval("SELECT count(*) FROM baseline_inbox") == 1
        finally:
            await conn.close()


async def test_payments_cpu_counts_one_payments_work() -> None:
    """The in-process bench runs end to end and counts what a payment did (no timings)."""
    report = await payments_cpu.main(argparse.Namespace(payments=2, warmup=1))
    assert report["payments"] == 2
    assert report["transactions_per_payment"] == 2.0  # claim, then record (DESIGN §1)
    assert report["statements_per_payment"] > 0
