"""What every benchmark needs: a throw-away database, child servers, the load generator, figures.

Child processes run in their own session (Ctrl-C reaches only the benchmark, which then stops
them in order) and are told by the kernel to end if the benchmark dies without cleaning up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import platform
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
LOGS = RESULTS / "logs"
PYTHON = sys.executable
PAYBRIDGE = str(Path(sys.executable).parent / "paybridge")
HOST = "127.0.0.1"
ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SIGNING_KEY = "whsec-bench-key-1"
API_KEY = "bench-api-key-0123456789abcdef"
CHECKOUT_SECRET = "sk_sbox_simulator"
CHANNEL = "pc_benchchannel000000000000000"
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def run_main(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, with SIGINT and SIGTERM cancelling it so every `finally` (servers
    stopped, database dropped) runs — also when SIGINT was ignored (started with `&`)."""

    async def guarded() -> T:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        return await main

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        print("\ninterrupted: servers stopped, database dropped", file=sys.stderr)
        raise SystemExit(130) from None


# --- database ---------------------------------------------------------------------------------


def database_dsn(name: str) -> str:
    """The admin DSN pointed at another database (same server, same user)."""
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


def sqlalchemy_url(name: str) -> str:
    return database_dsn(name).replace("postgresql://", "postgresql+asyncpg://", 1)


@asynccontextmanager
async def bench_database(label: str) -> AsyncIterator[str]:
    """A fresh database `bench_<label>_<pid>`, dropped on the way out (even on Ctrl-C)."""
    name = f"bench_{label}_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield name
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def query_value(database: str, sql: str, *args: object) -> Any:
    conn = await asyncpg.connect(database_dsn(database))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


# --- child processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()  # loaded here: the child, between fork and exec, only makes the call


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the benchmark process goes away."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without any PAYBRIDGE_* the operator had set, plus `extra`. The
    children import this tree's paybridge (`src/`), even when the virtualenv was installed
    from another worktree: a before/after comparison measures the tree it runs from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYBRIDGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO)])
    env.update(extra)
    return env


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path
    base_url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory_mib(self) -> dict[str, float]:
        """Peak (VmHWM) and current (VmRSS) resident memory, MiB, from /proc."""
        figures: dict[str, float] = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in {"VmHWM", "VmRSS"}:
                    figures[key] = round(int(value.split()[0]) / 1024, 1)
        return figures

    def cpu_s(self) -> float:
        """User + system CPU seconds the process has used so far (/proc/<pid>/stat)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


async def _wait_ready(child: Child, path: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=child.base_url, timeout=2.0) as http:
        while time.monotonic() < deadline:
            if child.process.returncode is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(path)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{child.name} did not become ready:\n{child.log_tail()}")


async def _stop(child: Child, grace_s: float = 15.0) -> None:
    process = child.process
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@asynccontextmanager
async def serve(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str],
    ready_path: str | None,
    ready_timeout_s: float = 60.0,
) -> AsyncIterator[Child]:
    """Start `argv` (a server on `port`), wait until `ready_path` answers 200, stop it after.

    Without `ready_path` (a process serving nothing, e.g. `paybridge worker`) it only has to
    stay up for a second."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=child_env(env),
            cwd=str(RESULTS),  # no stray .env file is picked up from here
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    child = Child(name=name, process=process, log=log, base_url=f"http://{HOST}:{port}")
    try:
        if ready_path is not None:
            await asyncio.shield(_wait_ready(child, ready_path, ready_timeout_s))
        else:
            await asyncio.sleep(1.0)
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited at start:\n{child.log_tail()}")
        yield child
    finally:
        await asyncio.shield(_stop(child))


def paybridge_env(database: str, **extra: str) -> dict[str, str]:
    """`paybridge serve` settings for a benchmark: its own database, known keys, JSON logs."""
    return {
        "PAYBRIDGE_DATABASE_URL": sqlalchemy_url(database),
        "PAYBRIDGE_API_KEYS": API_KEY,
        "PAYBRIDGE_CHECKOUT__SECRET_KEY": CHECKOUT_SECRET,
        "PAYBRIDGE_CHECKOUT__PROCESSING_CHANNEL_ID": CHANNEL,
        "PAYBRIDGE_CHECKOUT__WEBHOOK_SIGNATURE_KEYS": SIGNING_KEY,
        **extra,
    }


def paybridge_argv(port: int) -> list[str]:
    return [PAYBRIDGE, "serve", "--host", HOST, "--port", str(port), "--migrate"]


# --- load generator ---------------------------------------------------------------------------


async def run_loadgen(spec: Mapping[str, Any], *, timeout_s: float) -> dict[str, Any]:
    """Run `bench.loadgen` in its own process (own event loop, own core when one is free)."""
    with tempfile.TemporaryDirectory(prefix="bench-loadgen-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps(spec))
        process = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            "bench.loadgen",
            str(spec_path),
            str(out_path),
            env=child_env({}),
            cwd=str(REPO),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            code = await asyncio.wait_for(process.wait(), timeout_s)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if code != 0:
            raise RuntimeError(f"load generator exited with {code}")
        result: dict[str, Any] = json.loads(out_path.read_text())
        return result


# --- figures ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of `values` (q in 0..100); NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(values_s: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds of durations given in seconds."""
    if not values_s:
        return {"count": 0}
    ms = [v * 1000 for v in values_s]
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p90_ms": round(percentile(ms, 90), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
    }


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    line = "+".join("-" * (w + 2) for w in widths)
    print(f"\n{title}")
    print(line)
    for index, row in enumerate(cells):
        print(
            " | ".join(
                value.rjust(w) if index else value.ljust(w)
                for value, w in zip(row, widths, strict=True)
            )
        )
        if index == 0:
            print(line)
    print(line)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([".venv/bin/python -m bench." + Path(sys.argv[0]).stem, *sys.argv[1:]]),
    }


def write_results(name: str, data: Mapping[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"\nwrote {path.relative_to(REPO)}")
    return path
