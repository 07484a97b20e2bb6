"""Webhook → Salesforce, stage by stage: database round trips, transactions, claims and CPU
per event — figures that do not depend on how busy the machine is.

    .venv/bin/python -m bench.round_trips [--events 1000]

Runs in one process, on its own database: stores `--events` signed `payment_approved`
deliveries through the webhook service (each for a new payment of a seeded Order), then lets
the worker run each stage to the end, first the webhook processing, then the Salesforce sync
(against the in-memory Salesforce simulator, no latency). Counts what each stage sent to
PostgreSQL: statements (a statement sent with many parameter sets counts once: it is one
round trip), BEGINs, and the worker's claims. The intake's one statement goes to asyncpg
directly and is not counted. CPU is this process's, logging at WARNING (`paybridge serve`
also writes two INFO lines per event); the sync stage's includes the simulator.
Figures: bench/results/round_trips.json.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from sqlalchemy import Connection, event

from bench.harness import (
    bench_database,
    machine,
    print_table,
    run_main,
    sqlalchemy_url,
    write_results,
)
from bench.traffic import order_id, payment_id, webhook_event
from paybridge.app import build_container
from paybridge.container import Container
from paybridge.logging import configure_logging
from paybridge.persistence.migrations import upgrade_to_head
from paybridge.sandbox.checkout_sim import CheckoutSimulator
from paybridge.sandbox.salesforce_sim import SalesforceSimulator
from paybridge.services.ledger import SYNC_PAYMENT_TASK
from paybridge.services.webhooks import PROCESS_TASK
from paybridge.settings import Settings
from paybridge.worker.tasks import build_worker


class Counts:
    """What the engine sent to PostgreSQL since the last `take()`."""

    def __init__(self, container: Container) -> None:
        self.statements = 0
        self.begins = 0
        engine = container.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)

    def _statement(self, *_args: Any) -> None:
        self.statements += 1

    def _begin(self, conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self.begins += 1  # (an autocommit statement sends no BEGIN)

    def take(self) -> tuple[int, int]:
        taken = (self.statements, self.begins)
        self.statements = self.begins = 0
        return taken


def settings_for(database: str, sim: SalesforceSimulator) -> Settings:
    return Settings.model_validate(
        {
            "database_url": sqlalchemy_url(database),
            "log_level": "WARNING",
            "api_keys": ["bench-api-key-0123456789abcdef"],
            "checkout": {
                "secret_key": "sk_sbox_simulator",
                "processing_channel_id": "pc_benchchannel000000000000000",
                "webhook_signature_keys": ["whsec-bench-key-1"],
            },
            "salesforce": {
                "instance_url": sim.instance_url,
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
                "api_version": sim.api_version,
            },
            "worker": {"embedded": False},
        }
    )


async def stage(
    container: Container, counts: Counts, kind: str, *, events: int, batch_size: int
) -> dict[str, Any]:
    """Run every due task of `kind` to the end, a batch at a time, as its lane claims."""
    worker = build_worker(container)
    counts.take()
    cpu, claims, tasks = time.process_time(), 1, 0  # the last claim finds nothing
    while ran := await worker.run_once([kind], limit=batch_size):
        claims += 1
        tasks += ran
    statements, begins = counts.take()
    if tasks != events:
        raise RuntimeError(f"{kind}: {tasks} tasks ran for {events} events")
    return {
        "claims_per_event": round(claims / events, 3),
        "statements_per_event": round(statements / events, 2),
        "begins_per_event": round(begins / events, 2),
        # BEGIN and COMMIT/ROLLBACK are round trips of their own.
        "round_trips_per_event": round((statements + 2 * begins) / events, 2),
        "cpu_ms_per_event": round((time.process_time() - cpu) * 1000 / events, 2),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    configure_logging("WARNING")  # the per-event INFO lines would flood the terminal
    async with bench_database("round_trips") as database:
        sim = SalesforceSimulator()
        container = build_container(
            settings_for(database, sim),
            checkout_transport=CheckoutSimulator().transport(),
            salesforce_transport=sim.transport(),
        )
        try:
            await upgrade_to_head(container.engine)
            counts = Counts(container)
            bodies = []
            for n in range(args.events):
                sim.records.setdefault("Order", {})[order_id(n)] = {"Id": order_id(n)}
                body = webhook_event(
                    event_id=f"evt_r_{n}", pay_id=payment_id("r", n), order=order_id(n)
                )
                bodies.append(json.dumps(body).encode())
            cpu = time.process_time()
            for raw in bodies:
                await container.webhooks.receive(raw)
            report["intake"] = {
                "cpu_ms_per_event": round((time.process_time() - cpu) * 1000 / args.events, 2)
            }
            lanes = container.settings.worker
            batch_size = args.webhook_batch or lanes.batch_size
            report["processing"] = await stage(
                container, counts, PROCESS_TASK, events=args.events, batch_size=batch_size
            )
            report["sync"] = await stage(
                container,
                counts,
                SYNC_PAYMENT_TASK,
                events=args.events,
                batch_size=lanes.salesforce_batch_size,
            )
            report["sync"]["api_calls"] = sim.api_calls
            written = len(sim.records.get("CKO_Payment__c", {}))
            if written != args.events:
                raise RuntimeError(f"{written} of {args.events} payments reached Salesforce")
        finally:
            if container.salesforce_http is not None:
                await container.salesforce_http.aclose()
            await container.aclose()
    return report


def show(report: dict[str, Any]) -> None:
    columns = [
        "claims_per_event",
        "statements_per_event",
        "begins_per_event",
        "round_trips_per_event",
        "cpu_ms_per_event",
    ]
    print_table(
        f"Per event, {report['args']['events']} events (one process, simulators in memory), "
        f"webhook claims of {report['args']['webhook_batch'] or 'the lane batch size'}",
        ["stage", *(name.replace("_per_event", "").replace("_", " ") for name in columns)],
        [
            ["intake (not counted)", "-", "-", "-", "1", report["intake"]["cpu_ms_per_event"]],
            ["webhook processing", *(report["processing"][name] for name in columns)],
            ["Salesforce sync", *(report["sync"][name] for name in columns)],
        ],
    )  # fmt: skip
    print(f"Salesforce API calls: {report['sync']['api_calls']}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="deliveries stored")
    parser.add_argument(
        "--webhook-batch",
        type=int,
        default=0,
        help="events per webhook claim (0: the lane's batch size; a lane keeping up with "
        "a steady flow claims only the few that arrived meanwhile)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    result = run_main(main(arguments))
    show(result)
    write_results("round_trips", result)
