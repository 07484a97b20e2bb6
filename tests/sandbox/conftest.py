"""A sandbox on a fresh SQLite database, its lifespan (embedded worker) running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import upgrade_to_head
from paybridge.sandbox.wiring import Sandbox, WebhookKnobs, build_sandbox
from paybridge.settings import Settings

PUBLIC_URL = "http://sandbox.test"


async def make_sandbox(tmp_path: Path, knobs: WebhookKnobs | None = None) -> Sandbox:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}"
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    return build_sandbox(
        public_url=PUBLIC_URL,
        database_url=url,
        base=Settings(_env_file=None),
        knobs=knobs or WebhookKnobs(delay_s=0.0),
    )


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    built = await make_sandbox(tmp_path)
    async with built.app.router.lifespan_context(built.app):
        yield built


@pytest.fixture
async def browser(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A client without credentials, like a person's browser (follows no redirects)."""
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0) -> None:
    """Poll until `check` holds: webhooks, the worker and the Salesforce sync are async."""
    async with asyncio.timeout(timeout_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)
