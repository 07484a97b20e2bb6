"""HTTP/1.1 load generator: `python -m bench.loadgen SPEC.json OUT.json`.

Runs in its own process and event loop (uvloop when present). Every request is built before
the clock starts; the client is raw keep-alive HTTP/1.1 over asyncio streams, so little CPU
goes into it. Two modes:

- `closed`: `concurrency` connections, each sending its next request as soon as the previous
  answer arrives, for `duration_s` — the throughput a server sustains;
- `rate`: requests scheduled at a fixed `rate` per second (open loop) over up to
  `max_connections` connections; latency is counted from the *scheduled* send time, so a
  server falling behind shows up in the figures instead of slowing the generator down.

A `warmup_s` phase runs first in the same mode; its answers are counted (`warmup_ok`) but not
timed. Only 200 answers count as acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.traffic import BUILDERS, Prepared

READ_TIMEOUT_S = 30.0


@dataclass
class Outcome:
    tag: str
    status: int  # 0: transport error or timeout
    sent_wall: float
    latency_s: float
    captured: str | None = None


@dataclass
class Phase:
    outcomes: list[Outcome] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    lag_max_s: float = 0.0  # open loop: how late the generator itself dispatched a request


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, wire: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(wire)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise ValueError("response without Content-Length")  # chunked: not sent to us
        body = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _send(conn: Connection, item: Prepared, *, since: float, capture: str | None) -> Outcome:
    sent_wall = time.time() - (time.perf_counter() - since)
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            status, body = await conn.exchange(item.wire)
    except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError):
        conn.close()
        return Outcome(item.tag, 0, sent_wall, time.perf_counter() - since)
    latency = time.perf_counter() - since
    captured = None
    if capture and status < 300:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            captured = str(json.loads(body)[capture])
    return Outcome(item.tag, status, sent_wall, latency, captured)


async def closed_loop(
    items: list[Prepared],
    *,
    host: str,
    port: int,
    concurrency: int,
    duration_s: float,
    capture: str | None,
) -> Phase:
    phase = Phase(started=time.perf_counter())
    deadline = phase.started + duration_s
    queue = iter(items)

    async def client() -> None:
        conn = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                item = next(queue, None)
                if item is None:
                    return
                outcome = await _send(conn, item, since=time.perf_counter(), capture=capture)
                phase.outcomes.append(outcome)
        finally:
            conn.close()

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(client())
    phase.ended = time.perf_counter()
    return phase


async def open_loop(
    items: list[Prepared],
    *,
    host: str,
    port: int,
    rate: float,
    duration_s: float,
    max_connections: int,
    capture: str | None,
) -> Phase:
    phase = Phase(started=time.perf_counter())
    count = min(len(items), int(rate * duration_s))
    idle: asyncio.LifoQueue[Connection] = asyncio.LifoQueue()
    opened = 0

    async def one(item: Prepared, due: float) -> None:
        nonlocal opened
        if idle.empty() and opened < max_connections:
            opened += 1
            conn = Connection(host, port)
        else:
            conn = await idle.get()
        try:
            phase.outcomes.append(await _send(conn, item, since=due, capture=capture))
        finally:
            idle.put_nowait(conn)

    async with asyncio.TaskGroup() as group:
        for index in range(count):
            due = phase.started + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                phase.lag_max_s = max(phase.lag_max_s, -delay)
            group.create_task(one(items[index], due))
    phase.ended = time.perf_counter()
    while not idle.empty():
        idle.get_nowait().close()
    return phase


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = str(spec["host"]), int(spec["port"])
    items = BUILDERS[str(spec["kind"])](spec["requests"], f"{host}:{port}")
    capture = spec.get("capture")
    warmup_s = float(spec.get("warmup_s", 0))

    async def phase(chunk: list[Prepared], duration_s: float) -> Phase:
        if spec["mode"] == "closed":
            return await closed_loop(
                chunk,
                host=host,
                port=port,
                concurrency=int(spec["concurrency"]),
                duration_s=duration_s,
                capture=capture,
            )
        return await open_loop(
            chunk,
            host=host,
            port=port,
            rate=float(spec["rate"]),
            duration_s=duration_s,
            max_connections=int(spec.get("max_connections", 256)),
            capture=capture,
        )

    warm = Phase()
    if warmup_s > 0:
        warm = await phase(items, warmup_s)
    timed = await phase(items[len(warm.outcomes) :], float(spec["duration_s"]))
    ok_status = int(spec.get("ok_status", 200))
    ok = [o for o in timed.outcomes if o.status == ok_status]
    elapsed = timed.ended - timed.started
    result: dict[str, Any] = {
        "mode": spec["mode"],
        "elapsed_s": elapsed,
        "sent": len(timed.outcomes),
        "ok": len(ok),
        "statuses": dict(Counter(str(o.status) for o in timed.outcomes)),
        "ok_per_s": len(ok) / elapsed if elapsed > 0 else 0.0,
        "latencies_s": [o.latency_s for o in ok],
        "warmup_sent": len(warm.outcomes),
        "warmup_ok": sum(1 for o in warm.outcomes if o.status == ok_status),
        "dispatch_lag_max_s": timed.lag_max_s,
        "prepared": len(items),
    }
    if spec.get("record_each"):
        result["each"] = [
            [o.tag, o.status, o.sent_wall, o.latency_s, o.captured] for o in timed.outcomes
        ]
    return result


def main() -> None:
    spec_path, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    spec = json.loads(spec_path.read_text())
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: PLC0415 — optional speed-up (uvicorn[standard] brings it)

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(run(spec))
    out_path.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
