"""The operator's path, as processes: `paybridge checkout webhooks setup` against the
simulated Checkout.com, paybridge started with the values it printed, `… webhooks test`
delivering a signed test event over loopback, then `paybridge doctor`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from paybridge.mapping.checkout_workflows import handled_event_types
from tests.e2e.harness import Stack
from tests.e2e.processes import free_port, paybridge_command

CLI_TIMEOUT_S = 60.0


async def cli(stack: Stack, env: Mapping[str, str], *args: str) -> tuple[int, list[str]]:
    process = await asyncio.create_subprocess_exec(
        *paybridge_command(*args),
        env=dict(env),
        cwd=stack.workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_S)
    assert process.returncode is not None
    return process.returncode, output.decode().splitlines()


def printed_values(lines: list[str]) -> dict[str, str]:
    pairs = (ln.strip().split("=", 1) for ln in lines if ln.startswith("  PAYBRIDGE_"))
    return dict(pairs)


async def test_set_up_configure_test_and_check(stack: Stack) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/webhooks/checkout"
    base = stack.environment(PAYBRIDGE_CHECKOUT__WEBHOOK_URL=url, PAYBRIDGE_LOG_LEVEL="WARNING")

    code, lines = await cli(stack, base, "checkout", "webhooks", "setup")
    assert code == 0, lines
    values = printed_values(lines)
    assert set(values) == {
        "PAYBRIDGE_CHECKOUT__WEBHOOK_URL",
        "PAYBRIDGE_CHECKOUT__WEBHOOK_SIGNATURE_KEYS",
        "PAYBRIDGE_CHECKOUT__WEBHOOK_AUTHORIZATION",
    }
    configured = {**base, **values}
    await stack.serve("api", port=port, env=values)

    code, lines = await cli(
        stack, configured, "checkout", "webhooks", "test", "--event-type", "payment_captured"
    )
    assert code == 0, [*lines, stack.describe()]
    [received] = [ln for ln in lines if ln.startswith("received and verified: evt_")]
    event_id = received.split()[3]
    [row] = await stack.db.fetch(
        "SELECT type, signature_verified FROM inbound_events WHERE event_id = $1", event_id
    )
    assert row == {"type": "payment_captured", "signature_verified": True}

    code, lines = await cli(stack, configured, "checkout", "webhooks", "setup")
    assert code == 0, lines
    assert "is not https" in lines[0]  # loopback here; a live account wants TLS
    assert lines[1].endswith(": unchanged")
    assert "PAYBRIDGE_CHECKOUT__WEBHOOK_SIGNATURE_KEYS" not in printed_values(lines)

    code, lines = await cli(stack, configured, "doctor")
    assert code == 0, lines
    assert [ln.split(":")[0] for ln in lines] == [
        "OK    database",
        "OK    checkout key",
        "OK    webhook workflow",
        "OK    salesforce auth",
        "OK    salesforce org",
        "OK    markets",
    ]
    assert f"{len(handled_event_types())} event types → {url}" in lines[2]
