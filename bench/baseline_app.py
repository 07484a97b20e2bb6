"""The bare webhook endpoint paybridge's intake is compared with (DESIGN §10).

A raw ASGI app, no framework: verify `Cko-Signature` (HMAC-SHA256 of the raw body), read the
event id, one asyncpg `INSERT … ON CONFLICT DO NOTHING`, answer 200. Served by the same
uvicorn as paybridge:

    BENCH_DATABASE_DSN=postgresql://postgres@127.0.0.1:5432/DB BENCH_SIGNING_KEY=… \
    python -m uvicorn bench.baseline_app:create_app_from_env --factory --port 8100
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS baseline_inbox (
    event_id text PRIMARY KEY,
    raw_body bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT = "INSERT INTO baseline_inbox (event_id, raw_body) VALUES ($1, $2) ON CONFLICT DO NOTHING"


def create_app(dsn: str, signing_key: str, *, pool_size: int = 20) -> ASGIApp:
    """The endpoint (any path, POST); GET answers 200 once the pool is open (readiness)."""
    key = signing_key.encode()
    pools: list[asyncpg.Pool] = []

    async def respond(send: Send, status: int, body: bytes) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Same size as paybridge's pool (PAYBRIDGE_DATABASE__POOL_SIZE, no overflow).
                pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
                await pool.execute(CREATE_TABLE)
                pools.append(pool)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for pool in pools:
                    await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["method"] != "POST":
            await respond(send, 200, b'{"status":"ok"}')
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        raw = b"".join(chunks)
        presented = b""
        for name, value in scope["headers"]:
            if name == b"cko-signature":
                presented = value.strip().lower()
        expected = hmac.new(key, raw, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, presented):
            await respond(send, 401, b'{"status":"invalid_signature"}')
            return
        try:
            event_id = str(json.loads(raw)["id"])
        except (ValueError, KeyError, TypeError):
            await respond(send, 400, b'{"status":"unreadable"}')
            return
        await pools[0].execute(INSERT, event_id, raw)
        await respond(send, 200, b'{"status":"accepted"}')

    return app


def create_app_from_env() -> ASGIApp:
    return create_app(os.environ["BENCH_DATABASE_DSN"], os.environ["BENCH_SIGNING_KEY"])
