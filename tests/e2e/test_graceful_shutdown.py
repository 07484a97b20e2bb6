"""SIGTERM (what Kubernetes and docker compose send before SIGKILL) in the middle of a burst:
the process stops claiming, finishes or releases what it holds, closes its pools and exits 0
in time; nothing is lost and no task is left leased to a process that is gone."""

from __future__ import annotations

import signal

import httpx

from tests.e2e.checks import assert_events_once, assert_mirrored, settled
from tests.e2e.client import PaybridgeClient, captured_payments
from tests.e2e.harness import Paybridge, Stack
from tests.e2e.processes import eventually, free_port

PAYMENTS = 6
# Long leases: a task left leased would stay stuck for the whole test, so the check below
# cannot pass by a lease lapsing.
SETTINGS = {"PAYBRIDGE_WORKER__LEASE_S": "600"}
SALESFORCE_LATENCY_S = 0.5


async def leased_tasks(stack: Stack) -> list[dict[str, object]]:
    return await stack.db.fetch("SELECT id, kind, claimed_by FROM outbox WHERE status = 'running'")


async def syncs_in_flight(stack: Stack) -> bool:
    running = await stack.db.fetch(
        "SELECT id FROM outbox WHERE status = 'running' AND kind = 'salesforce.sync_payment'"
    )
    return bool(running)


async def terminate(process: Paybridge, *, exit_codes: set[int]) -> None:
    """SIGTERM; the harness falls back to SIGKILL after 10 s (-9), which fails the check."""
    await process.process.stop()
    assert process.process.returncode in exit_codes, process.process.describe()


async def test_worker_sigterm_mid_burst_releases_its_claims(stack: Stack) -> None:
    server = await stack.serve("api-for-worker", embedded_worker=False, env=SETTINGS)
    metrics_port = free_port()
    worker = await stack.worker(
        "worker-terminated", env=SETTINGS, args=["--metrics-port", str(metrics_port)]
    )
    api = PaybridgeClient(server.base_url)
    try:
        orders, events = await captured_payments(stack, api, PAYMENTS)
        await stack.sims.salesforce_faults(latency_s=SALESFORCE_LATENCY_S)
        for body in events:
            assert await api.deliver_ok(body) == "accepted"
        await eventually(lambda: syncs_in_flight(stack), timeout_s=20, what="syncs in flight")
        async with httpx.AsyncClient(timeout=5) as http:
            exported = (await http.get(f"http://127.0.0.1:{metrics_port}/")).text
        assert "paybridge_worker_tasks_total" in exported

        await terminate(worker, exit_codes={0})

        assert await leased_tasks(stack) == []
        await stack.sims.salesforce_faults(latency_s=0)
        await stack.worker("worker-after", env=SETTINGS)
        views = await settled(stack, api, orders)
        state = await stack.sims.salesforce_state()
        for pid, view in views.items():
            assert (view["status"], view["amounts"]["captured"]) == ("Captured", "149.90")
            assert_mirrored(state, view, order_id=orders[pid])
        await assert_events_once(stack, state, [body["id"] for body in events])
    finally:
        await api.aclose()
        for process in stack.processes:
            await process.kill()
        stack.processes.clear()


async def test_serve_sigterm_mid_burst_stops_its_embedded_worker_cleanly(stack: Stack) -> None:
    server = await stack.serve("serve-terminated", embedded_worker=True, env=SETTINGS)
    api = PaybridgeClient(server.base_url)
    try:
        orders, events = await captured_payments(stack, api, PAYMENTS)
        await stack.sims.salesforce_faults(latency_s=SALESFORCE_LATENCY_S)
        for body in events:
            assert await api.deliver_ok(body) == "accepted"
        await eventually(lambda: syncs_in_flight(stack), timeout_s=20, what="syncs in flight")

        # uvicorn finishes its shutdown (lifespan included), then re-raises the signal it
        # caught, so a clean stop ends by SIGTERM; the log shows the lifespan completed.
        await terminate(server, exit_codes={0, -signal.SIGTERM})
        assert "Application shutdown complete." in server.process.log_tail(lines=200)
        assert "worker.stopped" in server.process.log_tail(lines=200)

        assert await leased_tasks(stack) == []
        await stack.sims.salesforce_faults(latency_s=0)
        after = await stack.serve("serve-after", embedded_worker=True, env=SETTINGS)
        await api.aclose()
        api = PaybridgeClient(after.base_url)
        views = await settled(stack, api, orders)
        state = await stack.sims.salesforce_state()
        for pid, view in views.items():
            assert (view["status"], view["amounts"]["captured"]) == ("Captured", "149.90")
            assert_mirrored(state, view, order_id=orders[pid])
        await assert_events_once(stack, state, [body["id"] for body in events])
    finally:
        await api.aclose()
        for process in stack.processes:
            await process.kill()
        stack.processes.clear()
