"""`paybridge checkout webhooks setup|test` against the Checkout.com simulator, with paybridge
itself (on PostgreSQL) receiving the simulator's signed test events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from paybridge.cli_checkout import (
    AUTHORIZATION_ENV,
    SIGNATURE_KEYS_ENV,
    URL_ENV,
    webhooks_setup,
    webhooks_test,
)
from paybridge.container import Container
from paybridge.mapping.checkout_workflows import handled_event_types
from paybridge.settings import Settings
from tests.checkout_spec import validate_against_spec
from tests.conftest import make_settings, truncate_all
from tests.simulators.checkout import CheckoutSimulator

URL = "https://paybridge.test/v1/webhooks/checkout"
NO_WAIT = RetryPolicy.immediate(2)


def settings_for(database_url: str, **checkout: Any) -> Settings:
    values = {
        "base_url": "https://api.sandbox.checkout.com",
        "secret_key": "sk_sbox_simulator",
        "webhook_url": URL,
        **checkout,
    }
    return make_settings(database_url, checkout=values)


async def setup(sim: CheckoutSimulator, settings: Settings, **options: Any) -> list[str]:
    lines: list[str] = []
    code = await webhooks_setup(
        settings,
        url=options.pop("url", None),
        transport=sim.transport(),
        retry=NO_WAIT,
        echo=lines.append,
        **options,
    )
    assert code == 0, lines
    return lines


def value_of(lines: list[str], name: str) -> str | None:
    prefix = f"  {name}="
    return next((ln.removeprefix(prefix) for ln in lines if ln.startswith(prefix)), None)


def writes(sim: CheckoutSimulator) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _, _ in sim.requests if m != "GET"]


async def test_setup_creates_a_spec_shaped_workflow_and_prints_what_to_set() -> None:
    sim = CheckoutSimulator()
    with capture_logs() as logs:
        lines = await setup(sim, settings_for("sqlite+aiosqlite://", webhook_signature_keys=[]))

    [(wid, workflow)] = sim.workflows.items()
    assert lines[0] == f"workflow {wid}: created"
    [sent] = sim.calls("POST", "/workflows")
    validate_against_spec(sent, "add-workflow-request")
    [action] = workflow["actions"].values()
    key, authorization = action["signature"]["key"], action["headers"]["Authorization"]
    assert action["url"] == URL
    assert len(key) >= 43
    assert len(authorization) >= 43
    assert key != authorization
    assert value_of(lines, SIGNATURE_KEYS_ENV) == key
    assert value_of(lines, AUTHORIZATION_ENV) == authorization
    assert value_of(lines, URL_ENV) == URL
    [condition] = workflow["conditions"].values()
    subscribed = {t for ts in condition["events"].values() for t in ts}
    assert subscribed == set(handled_event_types())
    # Printed for the operator, never logged.
    assert logs
    assert key not in repr(logs)
    assert authorization not in repr(logs)


async def test_a_second_run_changes_nothing_and_prints_no_secret() -> None:
    sim = CheckoutSimulator()
    settings = settings_for("sqlite+aiosqlite://", webhook_authorization="configured-auth-value")
    await setup(sim, settings)
    before = writes(sim)

    lines = await setup(sim, settings)

    assert lines[0].endswith(": unchanged")
    assert writes(sim) == before
    assert value_of(lines, SIGNATURE_KEYS_ENV) is None
    assert value_of(lines, AUTHORIZATION_ENV) is None
    assert len(sim.workflows) == 1


async def test_a_drifted_workflow_is_brought_in_line_through_the_specs_update_calls() -> None:
    sim = CheckoutSimulator()
    old = settings_for("sqlite+aiosqlite://", webhook_authorization="auth-1")
    await setup(sim, old, url="https://old.example/v1/webhooks/checkout")
    [(wid, workflow)] = sim.workflows.items()
    [condition] = workflow["conditions"].values()
    condition["events"] = {"gateway": ["payment_captured", "payment_authorization_incremented"]}
    workflow["active"] = False
    settings = settings_for(
        "sqlite+aiosqlite://", webhook_authorization="auth-1", webhook_signature_keys=["old-key"]
    )

    lines = await setup(sim, settings)

    assert lines[0] == f"workflow {wid}: updated"
    assert any("misses" in ln for ln in lines)
    assert any("ignores" in ln for ln in lines)
    assert writes(sim)[-3:] == [
        ("PUT", f"/workflows/{wid}/conditions/{next(iter(workflow['conditions']))}"),
        ("PUT", f"/workflows/{wid}/actions/{next(iter(workflow['actions']))}"),
        ("PATCH", f"/workflows/{wid}"),
    ]
    validate_against_spec(sim.calls("PUT", f"/workflows/{wid}/conditions")[-1], "event-condition")
    validate_against_spec(sim.calls("PUT", f"/workflows/{wid}/actions")[-1], "webhook-action")
    validate_against_spec(sim.calls("PATCH", f"/workflows/{wid}")[-1], "patch-workflow-request")
    [action] = workflow["actions"].values()
    assert action["url"] == URL
    assert action["headers"] == {"Authorization": "auth-1"}
    assert workflow["active"] is True
    # The new key first, the configured one kept while deliveries signed with it drain.
    assert value_of(lines, SIGNATURE_KEYS_ENV) == f"{action['signature']['key']},old-key"
    assert value_of(lines, AUTHORIZATION_ENV) is None  # the configured one is kept


async def test_a_workflow_posting_to_the_url_under_another_name_is_adopted() -> None:
    sim = CheckoutSimulator()
    await setup(sim, settings_for("sqlite+aiosqlite://"), name="Dashboard webhook")

    lines = await setup(sim, settings_for("sqlite+aiosqlite://"))

    assert len(sim.workflows) == 1
    assert next(iter(sim.workflows.values()))["name"] == "paybridge"
    assert lines[0].endswith(": updated")


async def test_setup_fails_without_a_url_or_with_a_refused_key() -> None:
    sim = CheckoutSimulator()
    lines: list[str] = []
    no_url = settings_for("sqlite+aiosqlite://", webhook_url=None)
    assert await webhooks_setup(no_url, url=None, echo=lines.append) == 1
    assert lines == [f"configuration: give --url or set {URL_ENV}"]

    lines.clear()
    wrong = settings_for("sqlite+aiosqlite://", secret_key="sk_sbox_wrong")
    code = await webhooks_setup(
        wrong, url=None, transport=sim.transport(), retry=NO_WAIT, echo=lines.append
    )
    assert code == 1
    assert lines == ["Checkout.com: Checkout.com refused the credentials (workflow.list)"]
    assert sim.workflows == {}


# --- test: the simulator posts signed test events to paybridge ------------------------------


@pytest.fixture
async def configured(pg_url: str) -> AsyncIterator[tuple[CheckoutSimulator, Settings, Container]]:
    """A workflow set up at the simulator, and paybridge configured with what setup printed."""
    sim = CheckoutSimulator()
    lines = await setup(sim, settings_for(pg_url))
    settings = settings_for(
        pg_url,
        webhook_signature_keys=[value_of(lines, SIGNATURE_KEYS_ENV)],
        webhook_authorization=value_of(lines, AUTHORIZATION_ENV),
    )
    container = build_container(settings, checkout_transport=sim.transport())
    await truncate_all(container.engine)
    sim.workflow_transport = httpx.ASGITransport(app=create_app(container=container))
    yield sim, settings, container
    await container.aclose()


async def run_test(
    sim: CheckoutSimulator, settings: Settings, **options: Any
) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await webhooks_test(
        settings,
        transport=sim.transport(),
        retry=NO_WAIT,
        poll_s=0.05,
        echo=lines.append,
        **{"timeout_s": 10.0, **options},
    )
    return code, lines


async def test_paybridge_receives_and_verifies_the_test_events(
    configured: tuple[CheckoutSimulator, Settings, Container],
) -> None:
    sim, settings, container = configured

    code, lines = await run_test(
        sim, settings, event_types=("payment_approved", "dispute_evidence_required")
    )

    assert code == 0, lines
    [sent_test] = sim.calls("POST", "/workflows/wf_")
    validate_against_spec(sent_test, "test-workflow-request")
    assert sorted(sent_test["event_types"]) == ["dispute_evidence_required", "payment_approved"]
    sent = {event.event_id: event for event in sim.sent_test_events}
    received = [ln for ln in lines if ln.startswith("received and verified: ")]
    assert len(received) == 2
    for line in received:
        event_id = line.split()[3]
        assert sent[event_id].http_status == 200
        assert sent[event_id].url == URL
        async with container.uow() as uow:
            row = await uow.events.get_by_event_id(event_id)
        assert row is not None
        assert row["signature_verified"] is True
    assert lines[-1].startswith("OK: ")


async def test_a_key_paybridge_does_not_know_is_reported(
    configured: tuple[CheckoutSimulator, Settings, Container], pg_url: str
) -> None:
    sim, settings, _container = configured
    await setup(sim, settings, rotate_key=True)  # Checkout.com now signs with a new key

    code, lines = await run_test(sim, settings, timeout_s=1.0)

    assert code == 1
    await sim.wait_for_test_events()
    assert [event.http_status for event in sim.sent_test_events] == [401]
    assert lines[-1].startswith("not received within 1 s: payment_approved.")
    assert SIGNATURE_KEYS_ENV in lines[-1]


async def test_without_a_workflow_the_test_says_to_set_one_up(pg_url: str) -> None:
    code, lines = await run_test(CheckoutSimulator(), settings_for(pg_url))
    assert code == 1
    assert lines == ["no workflow named 'paybridge': run `paybridge checkout webhooks setup` first"]


async def test_a_workflow_missing_its_condition_and_action_gets_them_added() -> None:
    sim = CheckoutSimulator()
    settings = settings_for("sqlite+aiosqlite://", webhook_authorization="auth-1")
    await setup(sim, settings)
    [(wid, workflow)] = sim.workflows.items()
    workflow["conditions"].clear()
    workflow["actions"].clear()

    lines = await setup(sim, settings)

    assert writes(sim)[-2:] == [
        ("POST", f"/workflows/{wid}/conditions"),
        ("POST", f"/workflows/{wid}/actions"),
    ]
    [action] = workflow["actions"].values()
    assert value_of(lines, SIGNATURE_KEYS_ENV) == action["signature"]["key"]
    [condition] = workflow["conditions"].values()
    assert {t for ts in condition["events"].values() for t in ts} == set(handled_event_types())
