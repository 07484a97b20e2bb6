"""`POST /v1/payments` overhead: total latency minus the simulated Checkout.com time.

    .venv/bin/python -m bench.payments_overhead [--concurrency 8] [--duration 10] [--latency-ms 50]

Serves the Checkout.com simulator (answering after `--latency-ms`, and timing itself per
payment) and `paybridge serve` pointed at it (embedded worker off: the request path alone),
then sends payments from `--concurrency` connections. Each payment's overhead is its total
latency minus the simulator's own time for that payment (paired by the `pay_…` id), so
paybridge's HTTP client, three short transactions and the rest count as overhead. The mean
Checkout call time paybridge itself saw (`paybridge_checkout_call_seconds`) is shown beside.
Figures: bench/results/payments_overhead.json.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

import httpx

from bench.harness import (
    API_KEY,
    HOST,
    PYTHON,
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

TARGET_P99_MS = 20.0
_METRIC = re.compile(r'^paybridge_checkout_call_seconds_(sum|count)\{operation="([^"]+)"\} (\S+)$')


def checkout_call_means(metrics_text: str) -> dict[str, float]:
    """Mean Checkout.com call time (ms) per operation, from the Prometheus histogram."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in metrics_text.splitlines():
        match = _METRIC.match(line)
        if match:
            kind, operation, value = match.groups()
            (sums if kind == "sum" else counts)[operation] = float(value)
    return {op: round(sums[op] / counts[op] * 1000, 2) for op in sums if counts.get(op)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    sim_port, pb_port = free_port(), free_port()
    sim_argv = [
        PYTHON, "-m", "bench.simulators", "checkout", "--port", str(sim_port),
        "--latency-ms", str(args.latency_ms),
    ]  # fmt: skip
    async with bench_database("payments_overhead") as db:
        env = paybridge_env(
            db,
            PAYBRIDGE_WORKER__EMBEDDED="false",
            PAYBRIDGE_CHECKOUT__BASE_URL=f"http://{HOST}:{sim_port}",
        )
        async with (
            serve("checkout-sim", sim_argv, port=sim_port, env={}, ready_path="/_bench/healthz")
            as sim,
            serve("paybridge", paybridge_argv(pb_port), port=pb_port, env=env,
                  ready_path="/readyz") as paybridge,
        ):  # fmt: skip
            count = int(args.duration * args.concurrency * 1000 / max(args.latency_ms, 1)) + 2000
            spec = {
                "host": HOST,
                "port": pb_port,
                "kind": "payment",
                "mode": "closed",
                "concurrency": args.concurrency,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "ok_status": 201,
                "capture": "payment_id",
                "record_each": True,
                "requests": {"api_key": API_KEY, "prefix": "PB", "start": 0, "count": count},
            }
            cpu_before = paybridge.cpu_s()
            run = await run_loadgen(spec, timeout_s=args.warmup + args.duration + 120)
            served = run["ok"] + run["warmup_ok"]
            report["server_cpu_ms_per_payment"] = round(
                (paybridge.cpu_s() - cpu_before) * 1000 / max(served, 1), 2
            )
            report["memory_mib"] = paybridge.memory_mib()
            async with httpx.AsyncClient(timeout=30) as http:
                timings = (await http.get(f"{sim.base_url}/_bench/timings")).json()
                metrics = (await http.get(f"{paybridge.base_url}/metrics")).text
    totals, checkout, overhead, unpaired = [], [], [], 0
    for _tag, status, _sent, latency, pay_id in run.pop("each"):
        if status != 201:
            continue
        sim_s = timings.get(pay_id)
        if sim_s is None:
            unpaired += 1
            continue
        totals.append(latency)
        checkout.append(sim_s)
        overhead.append(latency - sim_s)
    run.pop("latencies_s")
    report.update(
        run=run,
        total=summary_ms(totals),
        checkout_simulator=summary_ms(checkout),
        overhead=summary_ms(overhead),
        unpaired=unpaired,
        checkout_call_mean_ms_seen_by_paybridge=checkout_call_means(metrics),
    )
    return report


def show(report: dict[str, Any]) -> None:
    run = report["run"]
    args = report["args"]
    rows = [
        [name, figures.get("count"), figures.get("p50_ms"), figures.get("p90_ms"),
         figures.get("p99_ms"), figures.get("max_ms"), figures.get("mean_ms")]
        for name, figures in (
            ("total (client side)", report["total"]),
            ("Checkout.com sim time", report["checkout_simulator"]),
            ("paybridge overhead", report["overhead"]),
        )
    ]  # fmt: skip
    print_table(
        f"POST /v1/payments, {args['concurrency']} connections, {args['duration']:g} s, "
        f"Checkout.com simulator at {args['latency_ms']:g} ms "
        f"({run['ok_per_s']:.0f} payments/s, statuses {run['statuses']})",
        ["", "count", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms"],
        rows,
    )
    seen = report["checkout_call_mean_ms_seen_by_paybridge"]
    print(f"mean Checkout.com call time seen by paybridge (/metrics): {seen} ms")
    p99 = report["overhead"].get("p99_ms", float("inf"))
    verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
    print(f"overhead p99 {p99:.1f} ms (target < {TARGET_P99_MS:g} ms: {verdict})")
    print(f"paybridge CPU per payment: {report['server_cpu_ms_per_payment']} ms")
    memory = report["memory_mib"]
    print(f"paybridge peak RSS {memory.get('VmHWM')} MiB (now {memory.get('VmRSS')} MiB)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="simulated Checkout.com")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    result = run_main(main(arguments))
    show(result)
    write_results("payments_overhead", result)
