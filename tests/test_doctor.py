"""`paybridge doctor`: every check passing, and each one failing on its own (PostgreSQL, the
Checkout.com and Salesforce simulators, the example markets file)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paybridge.adapters.http import RetryPolicy
from paybridge.cli import main, salesforce_check
from paybridge.cli_checkout import webhooks_setup
from paybridge.doctor import DoctorWiring, Finding, Status, run_doctor
from paybridge.settings import Settings
from tests.conftest import ADMIN_DSN, _admin, make_settings
from tests.salesforce_env import salesforce_values
from tests.simulators.checkout import CheckoutSimulator
from tests.simulators.salesforce import SalesforceSimulator

URL = "https://paybridge.test/v1/webhooks/checkout"
MARKETS = Path(__file__).resolve().parents[1] / "examples" / "markets.yaml"
MARKET_ENV = {"PAYBRIDGE_MARKET_SECRET_DE": "sk_sbox_de_entity"}


class World:
    """A ready installation: migrated database, workflow set up, org deployed, markets file."""

    def __init__(self, pg_url: str) -> None:
        self.checkout = CheckoutSimulator()
        self.salesforce = SalesforceSimulator()
        self.environ = dict(MARKET_ENV)
        self.values: dict[str, Any] = {
            "checkout": {
                "base_url": "https://api.sandbox.checkout.com",
                "secret_key": "sk_sbox_simulator",
                "webhook_url": URL,
                "webhook_signature_keys": ["whsec-test-key-1"],
            },
            "salesforce": salesforce_values(self.salesforce),
            "markets_file": MARKETS,
        }
        self.database_url = pg_url

    def settings(self) -> Settings:
        return make_settings(self.database_url, **self.values)

    async def set_up_workflow(self) -> None:
        code = await webhooks_setup(
            self.settings(),
            url=None,
            transport=self.checkout.transport(),
            retry=RetryPolicy.immediate(1),
            echo=lambda _: None,
        )
        assert code == 0

    async def doctor(self) -> dict[str, Finding]:
        wiring = DoctorWiring(
            checkout_transport=self.checkout.transport(),
            checkout_retry=RetryPolicy.immediate(1),
            salesforce_transport=self.salesforce.transport(),
            environ=self.environ,
        )
        findings = await run_doctor(self.settings(), salesforce_check, wiring)
        return {finding.check: finding for finding in findings}


@pytest.fixture
async def world(pg_url: str) -> World:
    built = World(pg_url)
    await built.set_up_workflow()
    return built


def failing(findings: dict[str, Finding]) -> dict[str, Finding]:
    return {name: f for name, f in findings.items() if f.status is Status.FAIL}


async def test_a_ready_installation_passes_every_check(world: World) -> None:
    findings = await world.doctor()

    assert list(findings) == [
        "database",
        "checkout key",
        "webhook workflow",
        "salesforce auth",
        "salesforce org",
        "markets",
    ]
    assert all(f.status is Status.OK for f in findings.values()), findings
    assert findings["database"].detail.startswith("connected, schema at head (")
    assert findings["webhook workflow"].detail.endswith(f"event types → {URL}")
    assert findings["markets"].line().startswith("OK    markets: ")


async def test_an_unreachable_database(world: World) -> None:
    world.database_url = "postgresql+asyncpg://postgres@127.0.0.1:1/paybridge"

    failed = failing(await world.doctor())

    assert list(failed) == ["database"]
    assert failed["database"].line().startswith("FAIL  database: cannot connect (")
    assert "PAYBRIDGE_DATABASE_URL" in failed["database"].line()


@pytest.fixture
async def unmigrated_url() -> AsyncIterator[str]:
    name = f"paybridge_doctor_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_database_behind_the_code(world: World, unmigrated_url: str) -> None:
    world.database_url = unmigrated_url

    failed = failing(await world.doctor())

    assert list(failed) == ["database"]
    assert failed["database"].detail.startswith("schema at revision none, the code needs ")
    assert failed["database"].fix == "run `paybridge migrate`"


async def test_a_refused_or_missing_checkout_key(world: World) -> None:
    world.values["checkout"]["secret_key"] = "sk_sbox_revoked"
    failed = failing(await world.doctor())
    assert list(failed) == ["checkout key", "webhook workflow"]
    assert "refused by https://api.sandbox.checkout.com" in failed["checkout key"].detail
    assert "flow:workflows" in str(failed["checkout key"].fix)

    world.values["checkout"]["secret_key"] = ""
    failed = failing(await world.doctor())
    assert failed["checkout key"].fix == "set PAYBRIDGE_CHECKOUT__SECRET_KEY"


async def test_checkout_unreachable(world: World) -> None:
    world.checkout.fail_next = 5

    failed = failing(await world.doctor())

    assert list(failed) == ["checkout key", "webhook workflow"]
    assert "PAYBRIDGE_CHECKOUT__BASE_URL" in str(failed["checkout key"].fix)


async def test_a_missing_or_drifted_workflow(pg_url: str) -> None:
    world = World(pg_url)  # nothing set up yet
    failed = failing(await world.doctor())
    assert list(failed) == ["webhook workflow"]
    assert failed["webhook workflow"].fix == "run `paybridge checkout webhooks setup`"

    await world.set_up_workflow()
    [workflow] = world.checkout.workflows.values()
    [condition] = workflow["conditions"].values()
    condition["events"]["gateway"].remove("payment_captured")
    workflow["active"] = False
    failed = failing(await world.doctor())
    assert list(failed) == ["webhook workflow"]
    detail = failed["webhook workflow"].detail
    assert "misses 1 event type(s): payment_captured" in detail
    assert "is not active" in detail

    world.values["checkout"]["webhook_url"] = "https://moved.example/v1/webhooks/checkout"
    failed = failing(await world.doctor())
    assert f"posts to {URL}, not https://moved.example" in failed["webhook workflow"].detail

    world.values["checkout"]["webhook_url"] = None
    failed = failing(await world.doctor())
    assert failed["webhook workflow"].detail == "PAYBRIDGE_CHECKOUT__WEBHOOK_URL is not set"


async def test_salesforce_auth_and_org_problems(world: World) -> None:
    world.values["salesforce"]["client_secret"] = "wrong"
    failed = failing(await world.doctor())
    assert list(failed) == ["salesforce auth", "salesforce org"]
    assert "authentication failed" in failed["salesforce auth"].detail

    world.values["salesforce"] = salesforce_values(world.salesforce)
    del world.salesforce.schema["CKO_Payment__c"]["Market__c"]
    failed = failing(await world.doctor())
    assert list(failed) == ["salesforce org"]
    assert "Market__c is missing" in failed["salesforce org"].detail


async def test_salesforce_not_configured_is_a_warning_not_a_failure(world: World) -> None:
    world.values["salesforce"] = {}

    findings = await world.doctor()

    assert failing(findings) == {}
    assert findings["salesforce"].status is Status.WARN
    assert findings["salesforce"].line().startswith("WARN  salesforce: not configured")


async def test_a_broken_markets_file_or_an_unset_key_variable(world: World, tmp_path: Path) -> None:
    world.environ = {}
    failed = failing(await world.doctor())
    assert list(failed) == ["markets"]
    assert "PAYBRIDGE_MARKET_SECRET_DE" in failed["markets"].detail
    assert failed["markets"].fix == f"run `paybridge markets check {MARKETS}`"

    broken = tmp_path / "markets.yaml"
    broken.write_text("markets: [{key: x}]\n", encoding="utf-8")
    world.values["markets_file"] = broken
    failed = failing(await world.doctor())
    assert list(failed) == ["markets"]
    assert failed["markets"].detail.startswith(f"{broken}: ")


def test_the_command_prints_one_line_per_check_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    env = {
        "PAYBRIDGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
        "PAYBRIDGE_CHECKOUT__SECRET_KEY": "",
        "PAYBRIDGE_MARKETS_FILE": "",
        "PAYBRIDGE_SALESFORCE__INSTANCE_URL": "",
    }

    result = CliRunner().invoke(main, ["doctor"], env=env)

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert [ln.split(":")[0] for ln in lines] == [
        "FAIL  database",
        "FAIL  checkout key",
        "FAIL  webhook workflow",
        "WARN  salesforce",
        "OK    markets",
    ]
    assert "→ fix: run `paybridge migrate`" in lines[0]
