"""Webhook → Salesforce: propagation p50/p99 at a fixed rate, and API calls per 1,000 events.

    .venv/bin/python -m bench.salesforce_propagation [--rate 200] [--high-rate 500] \
        [--duration 10] [--trickle 20] [--burst 1000] [--latency-ms 100] [--workers 0]

Serves the Salesforce simulator (answering data calls after `--latency-ms`, seeded with the
Orders the events name) and `paybridge serve` with its embedded worker, pointed at it. Every
event is a `payment_approved` for a new payment, so each one must end as a new
`CKO_Payment__c` record; the simulator stamps when each record first appeared.

1. trickle: one event at a time, each waiting for its record — API calls per event at low
   volume;
2. fixed rates: `--rate` then `--high-rate` events/s for `--duration` s each; propagation =
   record's write time − the event's send time (wall clock, one machine);
3. burst: `--burst` events sent as fast as 32 connections go — API calls per event in bursts.

`--workers N` adds N `paybridge worker` processes beside the embedded worker. Each phase
waits (bounded by `--drain-timeout`) until all its records are written.
Figures: bench/results/salesforce_propagation.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from typing import Any

import httpx

from bench.harness import (
    HOST,
    PAYBRIDGE,
    PYTHON,
    SIGNING_KEY,
    Child,
    bench_database,
    free_port,
    machine,
    paybridge_argv,
    paybridge_env,
    print_table,
    run_loadgen,
    run_main,
    serve,
    summary_ms,
    write_results,
)
from bench.traffic import WEBHOOK_PATH, webhooks

TARGET_P99_MS = 2000.0  # at --rate (200/s)
TARGET_HIGH_P99_MS = 1000.0  # at --high-rate (500/s)
TARGET_TRICKLE_CALLS = 1.0
TARGET_BURST_CALLS = 0.01


class Salesforce:
    """The simulator's `/_bench` view."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http, self.base_url = http, base_url

    async def counts(self) -> dict[str, int]:
        counts: dict[str, int] = (await self.http.get(f"{self.base_url}/_bench/counts")).json()
        return counts

    async def writes(self) -> dict[str, float]:
        writes: dict[str, float] = (await self.http.get(f"{self.base_url}/_bench/writes")).json()
        return writes

    async def wait_written(self, total: int, timeout_s: float, poll_s: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (await self.counts())["written"] >= total:
                return True
            await asyncio.sleep(poll_s)
        return False


def calls_between(before: dict[str, int], after: dict[str, int], events: int) -> dict[str, Any]:
    api = after["api_calls"] - before["api_calls"]
    return {
        "events": events,
        "api_calls": api,
        "token_calls": after["token_calls"] - before["token_calls"],
        "api_calls_per_1000_events": round(api * 1000 / events, 1) if events else None,
    }


async def trickle(
    sf: Salesforce, paybridge: Child, args: argparse.Namespace, written: int
) -> dict[str, Any]:
    spec = {
        "signing_key": SIGNING_KEY,
        "prefix": "t",
        "start": 0,
        "count": args.trickle,
        "orders": True,
    }
    before = await sf.counts()
    latencies = []
    async with httpx.AsyncClient(base_url=paybridge.base_url, timeout=30) as http:
        for item in webhooks(spec, HOST):
            head, _, body = item.wire.partition(b"\r\n\r\n")
            headers = dict(
                line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
            )
            headers.pop("Host", None)
            headers.pop("Content-Length", None)
            started = time.monotonic()
            response = await http.post(WEBHOOK_PATH, content=body, headers=headers)
            response.raise_for_status()
            written += 1
            if not await sf.wait_written(written, args.drain_timeout):
                raise RuntimeError(f"trickle event {item.tag} never reached Salesforce")
            latencies.append(time.monotonic() - started)
    # Let the worker settle (log sweeps) before the calls are counted.
    await asyncio.sleep(1.0)
    result = calls_between(before, await sf.counts(), args.trickle)
    result["propagation"] = summary_ms(latencies)
    result["memory_mib"] = paybridge.memory_mib()
    return result


async def loaded(
    sf: Salesforce,
    paybridge: Child,
    spec: dict[str, Any],
    *,
    written: int,
    args: argparse.Namespace,
) -> tuple[dict[str, Any], int]:
    before = await sf.counts()
    cpu_before = paybridge.cpu_s()
    started = time.monotonic()
    run = await run_loadgen(spec, timeout_s=float(spec["duration_s"]) + 120)
    acked = int(run["ok"])
    drained_at = time.monotonic()
    complete = await sf.wait_written(written + acked, args.drain_timeout)
    drain_s = time.monotonic() - drained_at
    busy_s = paybridge.cpu_s() - cpu_before
    busy_share = busy_s / (time.monotonic() - started)
    await asyncio.sleep(1.0)
    result = calls_between(before, await sf.counts(), acked)
    # Intake and (embedded) processing together, until the last record was written.
    result["server_cpu_ms_per_event"] = round(
        (paybridge.cpu_s() - cpu_before) * 1000 / max(acked, 1), 2
    )
    # How much of one core the (single-threaded) process used until the last record was
    # written: near 1, it was CPU-bound and latency is queueing for it; far below 1 on a
    # busy machine, it was waiting for a core (see the load average).
    result["server_cpu_share"] = round(busy_share, 2)
    result["loadavg_after"] = [round(value, 2) for value in os.getloadavg()]
    writes = await sf.writes()
    propagation, missing = [], 0
    for tag, status, sent_wall, _latency, _captured in run.pop("each"):
        if status != 200:
            continue
        if tag in writes:
            propagation.append(writes[tag] - sent_wall)
        else:
            missing += 1
    run.pop("latencies_s")
    result.update(
        run=run,
        complete=complete,
        missing=missing,
        drain_after_send_s=round(drain_s, 2),
        propagation=summary_ms(propagation),
        memory_mib=paybridge.memory_mib(),
    )
    return result, written + acked


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    sf_port, pb_port = free_port(), free_port()
    rate_count = int(args.rate * args.duration)
    high_count = int(args.high_rate * args.duration)
    orders = rate_count + high_count + args.burst + args.trickle + 10
    sf_url = f"http://{HOST}:{sf_port}"
    sim_argv = [
        PYTHON, "-m", "bench.simulators", "salesforce", "--port", str(sf_port),
        "--latency-ms", str(args.latency_ms), "--orders", str(orders),
    ]  # fmt: skip
    async with bench_database("salesforce_propagation") as db:
        env = paybridge_env(
            db,
            PAYBRIDGE_SALESFORCE__INSTANCE_URL=sf_url,
            PAYBRIDGE_SALESFORCE__CLIENT_ID="sim-client-id",
            PAYBRIDGE_SALESFORCE__CLIENT_SECRET="sim-client-secret",
            PAYBRIDGE_SALESFORCE__API_VERSION="66.0",
        )
        async with (
            serve("salesforce-sim", sim_argv, port=sf_port, env={},
                  ready_path="/_bench/healthz") as _sim,
            serve("paybridge", paybridge_argv(pb_port), port=pb_port, env=env,
                  ready_path="/readyz") as paybridge,
            httpx.AsyncClient(timeout=30) as http,
            contextlib.AsyncExitStack() as stack,
        ):  # fmt: skip
            workers = [
                await stack.enter_async_context(
                    serve(f"worker-{n}", [PAYBRIDGE, "worker"], port=0, env=env, ready_path=None)
                )
                for n in range(args.workers)
            ]
            report["extra_worker_pids"] = [worker.pid for worker in workers]
            sf = Salesforce(http, sf_url)
            written = 0
            print(f"trickle: {args.trickle} events, one at a time …", flush=True)
            report["trickle"] = await trickle(sf, paybridge, args, written)
            written += args.trickle
            start = args.trickle
            for key, rate, count in (
                ("fixed_rate", args.rate, rate_count),
                ("high_rate", args.high_rate, high_count),
            ):
                if not count:
                    continue
                print(f"fixed rate: {rate:g}/s for {args.duration:g} s …", flush=True)
                rate_spec = {
                    "host": HOST,
                    "port": pb_port,
                    "kind": "webhook",
                    "mode": "rate",
                    "rate": rate,
                    "duration_s": args.duration,
                    "record_each": True,
                    "requests": {
                        "signing_key": SIGNING_KEY,
                        "prefix": key[0],
                        "start": start,
                        "count": count,
                        "orders": True,
                    },
                }
                report[key], written = await loaded(
                    sf, paybridge, rate_spec, written=written, args=args
                )
                start += count
            print(f"burst: {args.burst} events …", flush=True)
            burst_spec = {
                "host": HOST,
                "port": pb_port,
                "kind": "webhook",
                "mode": "closed",
                "concurrency": 32,
                "duration_s": 60.0,
                "record_each": True,
                "requests": {
                    "signing_key": SIGNING_KEY,
                    "prefix": "b",
                    "start": start,
                    "count": args.burst,
                    "orders": True,
                },
            }
            report["burst"], written = await loaded(
                sf, paybridge, burst_spec, written=written, args=args
            )
            report["worker_memory_mib"] = [worker.memory_mib() for worker in workers]
    return report


def show(report: dict[str, Any]) -> None:
    args = report["args"]
    rate = report["fixed_rate"]
    for key, events_per_s, target_ms in (
        ("fixed_rate", args["rate"], TARGET_P99_MS),
        ("high_rate", args["high_rate"], TARGET_HIGH_P99_MS),
    ):
        if key in report:
            show_rate(report[key], events_per_s, args, target_ms)
    rows = []
    for name, phase, target in (
        ("trickle (one at a time)", report["trickle"], TARGET_TRICKLE_CALLS),
        (f"fixed rate {args['rate']:g}/s", rate, None),
        *(
            [(f"fixed rate {args['high_rate']:g}/s", report["high_rate"], None)]
            if "high_rate" in report
            else []
        ),
        (f"burst ({args['burst']} at once)", report["burst"], TARGET_BURST_CALLS),
    ):
        per_event = phase["api_calls"] / phase["events"] if phase["events"] else float("nan")
        verdict = "-" if target is None else ("met" if per_event <= target else "NOT met")
        rows.append(
            [name, phase["events"], phase["api_calls"], phase["token_calls"],
             phase["api_calls_per_1000_events"], f"≤ {target:g}/event: {verdict}"
             if target is not None else "-", phase["memory_mib"].get("VmHWM")]
        )  # fmt: skip
    print_table(
        "Salesforce API calls (token requests counted apart, as an org does)",
        ["mode", "events", "API calls", "token calls", "per 1,000 events", "target",
         "peak RSS MiB"],
        rows,
    )  # fmt: skip
    loaded_phases = [
        (name, report[key])
        for name, key in (
            (f"fixed rate {args['rate']:g}/s", "fixed_rate"),
            (f"fixed rate {args['high_rate']:g}/s", "high_rate"),
            ("burst", "burst"),
        )
        if key in report
    ]
    print_table(
        "paybridge serve (intake + embedded worker) until the last record was written",
        ["phase", "CPU ms per event", "share of one core", "load average after (1, 5, 15 min)"],
        [[name, phase["server_cpu_ms_per_event"], phase["server_cpu_share"],
          phase["loadavg_after"]] for name, phase in loaded_phases],
    )  # fmt: skip
    print(f"load average at start: {report['machine']['loadavg_at_start']}")
    for index, memory in enumerate(report["worker_memory_mib"], 1):
        print(f"extra worker {index}: peak RSS {memory.get('VmHWM')} MiB")
    trickle_prop = report["trickle"]["propagation"]
    burst_prop = report["burst"]["propagation"]
    print(
        f"trickle receipt→write p50 {trickle_prop.get('p50_ms')} ms; burst p50 "
        f"{burst_prop.get('p50_ms')} ms, p99 {burst_prop.get('p99_ms')} ms"
    )


def show_rate(
    phase: dict[str, Any], events_per_s: float, args: dict[str, Any], target_ms: float
) -> None:
    prop = phase["propagation"]
    run = phase["run"]
    print_table(
        f"Webhook → Salesforce record at {events_per_s:g} events/s for {args['duration']:g} s, "
        f"Salesforce simulator at {args['latency_ms']:g} ms",
        ["acked", "acked/s", "written", "missing", "p50 ms", "p90 ms", "p99 ms", "max ms",
         "drain after send s", "peak RSS MiB"],
        [[run["ok"], run["ok_per_s"], prop.get("count"), phase["missing"], prop.get("p50_ms"),
          prop.get("p90_ms"), prop.get("p99_ms"), prop.get("max_ms"), phase["drain_after_send_s"],
          phase["memory_mib"].get("VmHWM")]],
    )  # fmt: skip
    p99 = prop.get("p99_ms", float("inf"))
    print(f"p99 {p99:,.0f} ms (target < {target_ms:,.0f} ms: "
          f"{'met' if p99 < target_ms and phase['complete'] else 'NOT met'})")  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events/s, fixed-rate phase")
    parser.add_argument(
        "--high-rate", type=float, default=500.0, help="events/s, second fixed-rate phase (0: skip)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="fixed-rate seconds")
    parser.add_argument("--trickle", type=int, default=20, help="events sent one at a time")
    parser.add_argument("--burst", type=int, default=1000, help="events sent at once")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="simulated Salesforce")
    parser.add_argument(
        "--workers", type=int, default=0, help="extra `paybridge worker` processes beside serve"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=120.0, help="max wait for records per phase (s)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    result = run_main(main(arguments))
    show(result)
    write_results("salesforce_propagation", result)
