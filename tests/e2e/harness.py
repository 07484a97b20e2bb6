"""One test module's world: a fresh PostgreSQL database, the simulators in a child process,
and `paybridge serve` / `paybridge worker` processes configured only through `PAYBRIDGE_*`.

Everything listens on loopback; every wait is bounded; `Stack.aclose` kills every child
process and drops the database whatever state the test left them in.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import upgrade_to_head
from tests.conftest import ADMIN_DSN
from tests.e2e.processes import (
    REPOSITORY,
    ChildProcess,
    eventually,
    free_port,
    paybridge_command,
    python_module,
    scrubbed_environ,
)
from tests.webhook_events import SIGNING_KEY

API_KEY = "e2e-api-key-0123456789abcdef01234567"
CHANNEL = "pc_simulatorchannel0000000000"
START_TIMEOUT_S = 30.0
HTTP_TIMEOUT = httpx.Timeout(20.0, connect=5.0)

# Knobs that keep the suite fast: short waits between polls, retries and pauses.
FAST_SETTINGS = {
    "PAYBRIDGE_LOG_LEVEL": "INFO",
    "PAYBRIDGE_CHECKOUT__READ_TIMEOUT_S": "1.0",
    "PAYBRIDGE_CHECKOUT__MAX_ATTEMPTS": "2",
    "PAYBRIDGE_IDEMPOTENCY__LOCK_TIMEOUT_S": "1",
    "PAYBRIDGE_SALESFORCE__PAUSE_ON_LIMIT_S": "1",
    "PAYBRIDGE_SALESFORCE__LOG_SWEEP_INTERVAL_S": "0.5",
    "PAYBRIDGE_WORKER__POLL_INTERVAL_S": "0.1",
    "PAYBRIDGE_WORKER__LEASE_S": "10",
    "PAYBRIDGE_WORKER__BACKOFF_BASE_S": "0.2",
    "PAYBRIDGE_WORKER__BACKOFF_MAX_S": "1",
    "PAYBRIDGE_WORKER__MAX_ATTEMPTS": "30",
}


@dataclass(frozen=True)
class Database:
    """A database of one test module; `fetch` reads it with plain SQL."""

    name: str

    @property
    def dsn(self) -> str:
        return f"{ADMIN_DSN.rsplit('/', 1)[0]}/{self.name}"

    @property
    def url(self) -> str:
        return self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    async def fetch(self, sql: str, *args: object) -> list[dict[str, Any]]:
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            return [dict(row) for row in await conn.fetch(sql, *args, timeout=20)]
        finally:
            await conn.close()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN, timeout=10)
    try:
        await conn.execute(sql, timeout=30)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database() -> AsyncIterator[Database]:
    """Created and migrated to head (Alembic) on entry, dropped on exit."""
    database = Database(f"paybridge_e2e_{uuid.uuid4().hex[:10]}")
    await _admin(f'CREATE DATABASE "{database.name}"')
    try:
        engine = create_engine(database.url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()
        yield database
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


def _decoded(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.url}: {response.text}"
    # Salesforce amounts are exact decimals: read them back as such.
    return json.loads(response.content, parse_float=Decimal)


class Simulators:
    """The child process serving both simulators, and its control endpoints."""

    def __init__(self, process: ChildProcess, ports: Mapping[str, int]) -> None:
        self.process = process
        self.checkout_url = f"http://127.0.0.1:{ports['checkout']}"
        self.salesforce_url = f"http://127.0.0.1:{ports['salesforce']}"
        self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT)

    @classmethod
    async def start(cls, workdir: Path) -> Simulators:
        ready = workdir / "simulators.json"
        process = ChildProcess(
            "simulators",
            python_module("tests.e2e.sim_server", "--ready-file", str(ready)),
            env=scrubbed_environ(),
            log_path=workdir / "simulators.log",
            cwd=REPOSITORY,
        )
        await process.start()

        async def ports() -> dict[str, int] | None:
            if process.exited:
                raise AssertionError(f"the simulators did not start:\n{process.describe()}")
            return json.loads(ready.read_text(encoding="utf-8")) if ready.exists() else None

        try:
            found = await eventually(ports, timeout_s=START_TIMEOUT_S, what="the simulators")
        except BaseException:
            await process.kill()
            raise
        return cls(process, found)

    async def checkout_state(self) -> dict[str, Any]:
        state: dict[str, Any] = _decoded(await self._http.get(f"{self.checkout_url}/_e2e/state"))
        return state

    async def salesforce_state(self) -> dict[str, Any]:
        url = f"{self.salesforce_url}/_e2e/state"
        state: dict[str, Any] = _decoded(await self._http.get(url))
        return state

    async def checkout_faults(self, **knobs: object) -> None:
        _decoded(await self._http.post(f"{self.checkout_url}/_e2e/faults", json=knobs))

    async def salesforce_faults(self, **knobs: object) -> None:
        _decoded(await self._http.post(f"{self.salesforce_url}/_e2e/faults", json=knobs))

    async def checkout_control(self, name: str, **body: object) -> dict[str, Any]:
        answer: dict[str, Any] = _decoded(
            await self._http.post(f"{self.checkout_url}/_e2e/{name}", json=body)
        )
        return answer

    async def seed_orders(self, *order_ids: str) -> None:
        url = f"{self.salesforce_url}/_e2e/orders"
        _decoded(await self._http.post(url, json={"ids": list(order_ids)}))

    async def aclose(self) -> None:
        try:
            await self._http.aclose()
        finally:
            await self.process.kill()


class Paybridge:
    """A `paybridge serve` (with `port`) or `paybridge worker` process."""

    def __init__(self, process: ChildProcess, port: int | None) -> None:
        self.process = process
        self.port = port

    @property
    def base_url(self) -> str:
        assert self.port is not None, f"{self.process.name} serves no HTTP"
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start and wait until it is ready: `/readyz` answers 200, or the worker loop runs."""
        await self.process.start()
        try:
            await eventually(
                self._ready,
                timeout_s=START_TIMEOUT_S,
                what=f"{self.process.name} to be ready",
                context=self.process.describe,
            )
        except BaseException:
            await self.process.kill()
            raise

    async def _ready(self) -> bool:
        if self.process.exited:
            raise AssertionError(f"{self.process.name} exited:\n{self.process.describe()}")
        if self.port is None:
            return "worker.started" in self.process.log_path.read_text(errors="replace")
        try:
            async with httpx.AsyncClient(timeout=2.0) as http:
                response = await http.get(f"{self.base_url}/readyz")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    async def kill(self) -> None:
        await self.process.kill()

    async def restart(self) -> None:
        await self.process.kill()
        await self.start()


class Stack:
    """The module's database, simulators and paybridge processes."""

    def __init__(self, database: Database, sims: Simulators, workdir: Path) -> None:
        self.db = database
        self.sims = sims
        self.workdir = workdir
        self.processes: list[Paybridge] = []

    def environment(self, **overrides: str) -> dict[str, str]:
        settings = {
            "PAYBRIDGE_DATABASE_URL": self.db.url,
            "PAYBRIDGE_API_KEYS": API_KEY,
            "PAYBRIDGE_CHECKOUT__BASE_URL": self.sims.checkout_url,
            "PAYBRIDGE_CHECKOUT__SECRET_KEY": "sk_sbox_simulator",
            "PAYBRIDGE_CHECKOUT__PROCESSING_CHANNEL_ID": CHANNEL,
            "PAYBRIDGE_CHECKOUT__WEBHOOK_SIGNATURE_KEYS": SIGNING_KEY,
            "PAYBRIDGE_SALESFORCE__INSTANCE_URL": self.sims.salesforce_url,
            "PAYBRIDGE_SALESFORCE__CLIENT_ID": "sim-client-id",
            "PAYBRIDGE_SALESFORCE__CLIENT_SECRET": "sim-client-secret",
            **FAST_SETTINGS,
        }
        return {**scrubbed_environ(), **settings, **overrides}

    def _process(self, name: str, argv: list[str], env: Mapping[str, str]) -> ChildProcess:
        # Started outside the repository, so no `.env` file there is read.
        return ChildProcess(
            name, argv, env=env, log_path=self.workdir / f"{name}.log", cwd=self.workdir
        )

    async def serve(
        self,
        name: str,
        *,
        embedded_worker: bool = True,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
    ) -> Paybridge:
        """`paybridge serve` on `port` (default: a free loopback one), ready when this returns."""
        port = port or free_port()
        argv = paybridge_command("serve", "--host", "127.0.0.1", "--port", str(port))
        environment = self.environment(
            PAYBRIDGE_WORKER__EMBEDDED=str(embedded_worker).lower(), **(env or {})
        )
        server = Paybridge(self._process(name, argv, environment), port)
        self.processes.append(server)
        await server.start()
        return server

    async def worker(
        self, name: str, *, env: Mapping[str, str] | None = None, args: Sequence[str] = ()
    ) -> Paybridge:
        """`paybridge worker [args]`, running its loop when this returns."""
        argv = paybridge_command("worker", *args)
        worker = Paybridge(self._process(name, argv, self.environment(**(env or {}))), None)
        self.processes.append(worker)
        await worker.start()
        return worker

    def describe(self) -> str:
        """Every process's log tail, for failure messages."""
        parts = [p.process.describe() for p in self.processes] + [self.sims.process.describe()]
        return "\n\n".join(parts)

    async def aclose(self) -> None:
        for paybridge in self.processes:
            with contextlib.suppress(Exception):
                await paybridge.kill()
        await self.sims.aclose()


@asynccontextmanager
async def running_stack(workdir: Path) -> AsyncIterator[Stack]:
    """A database and the simulators; the test module starts the paybridge processes."""
    async with fresh_database() as database:
        sims = await Simulators.start(workdir)
        stack = Stack(database, sims, workdir)
        try:
            yield stack
        finally:
            await stack.aclose()
