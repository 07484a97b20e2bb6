"""Shared fixtures: a fresh PostgreSQL database per test run (migrated once), tables
emptied between tests, and an app wired to the Checkout.com simulator.

PostgreSQL is required: tests fail, never skip, when it cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from paybridge.container import Container
from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import upgrade_to_head
from paybridge.persistence.tables import metadata
from paybridge.settings import Settings
from tests.simulators.checkout import CheckoutSimulator, LosingResponses

ADMIN_DSN = os.environ.get("PAYBRIDGE_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
API_KEY = "test-api-key-0123456789abcdef"
CHANNEL = "pc_simulatorchannel0000000000"


async def _admin(sql: str) -> None:
    try:
        conn = await asyncpg.connect(ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is required for the test suite; not reachable at {ADMIN_DSN}: {exc}. "
            "Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            pytrace=False,
        )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
def _restore_logging_config() -> Iterator[None]:
    """Commands under test configure structlog for the whole process (an operator command
    filters below WARNING); put the configuration back so the next test's `capture_logs`
    sees what it logs, whatever ran before it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A database of our own for this run, migrated to head with Alembic."""
    name = f"paybridge_test_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    yield url
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def truncate_all(engine: AsyncEngine) -> None:
    names = ", ".join(table.name for table in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def checkout_sim() -> CheckoutSimulator:
    return CheckoutSimulator()


@pytest.fixture
def lossy_transport(checkout_sim: CheckoutSimulator) -> LosingResponses:
    return LosingResponses(checkout_sim.transport())


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "api_keys": [API_KEY],
        "checkout": {
            "base_url": "https://api.sandbox.checkout.com",
            "secret_key": "sk_sbox_simulator",
            "processing_channel_id": CHANNEL,
            "webhook_signature_keys": ["whsec-test-key-1"],
        },
        "worker": {"embedded": False},
    }
    values.update(overrides)
    return Settings.model_validate(values)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class ShiftedClock:
    """Real time plus an offset tests can advance (leases and lock timeouts lapse at once)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@asynccontextmanager
async def fresh_container(
    pg_url: str, transport: LosingResponses, clock: ShiftedClock, **settings: object
) -> AsyncIterator[Container]:
    """A container on emptied tables, wired to the Checkout.com simulator; `settings`
    override `make_settings`'s."""
    built = build_container(
        make_settings(pg_url, **settings),
        clock=clock,
        checkout_transport=transport,
        checkout_retry=RetryPolicy.immediate(3),
    )
    await truncate_all(built.engine)
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def container(
    pg_url: str, lossy_transport: LosingResponses, clock: ShiftedClock
) -> AsyncIterator[Container]:
    async with fresh_container(pg_url, lossy_transport, clock) as built:
        yield built


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container=container)


@asynccontextmanager
async def app_client(
    pg_url: str, checkout_sim: CheckoutSimulator, clock: ShiftedClock, **settings: object
) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    """A container on the Checkout.com simulator (no loss) built from `settings` overrides,
    its tables emptied, and an API client for its app; closed on exit."""
    built = build_container(
        make_settings(pg_url, **settings),
        clock=clock,
        checkout_transport=checkout_sim.transport(),
        checkout_retry=RetryPolicy.immediate(3),
    )
    await truncate_all(built.engine)
    transport = httpx.ASGITransport(app=create_app(container=built))
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://paybridge.test", headers={"X-API-Key": API_KEY}
        ) as http:
            yield built, http
    finally:
        await built.aclose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://paybridge.test", headers={"X-API-Key": API_KEY}
    ) as http:
        yield http
