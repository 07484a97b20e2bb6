"""Child processes for the end-to-end suite, and bounded waits.

Every child writes to a log file of its own (quoted when a wait fails), runs in its own
session, and is told by the kernel to die with the test process; `ChildProcess.kill` is
what teardown calls, whatever happened before.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1
_EXIT_WAIT_S = 10.0
_PROBE_GRACE_S = 30.0
REPOSITORY = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nobody listens on now (the child binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the test process goes away (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ChildProcess:
    """One child process (a `paybridge` command or the simulators) and its log file."""

    def __init__(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.cwd = cwd
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    @property
    def exited(self) -> bool:
        return self._process is None or self._process.returncode is not None

    async def start(self) -> None:
        assert self.exited, f"{self.name} is already running"
        with self.log_path.open("ab") as log:
            log.write(f"--- start {' '.join(self.argv)}\n".encode())
            log.flush()
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    async def kill(self) -> None:
        """SIGKILL and reap: no shutdown code runs (a crash), nothing is left behind."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
        async with asyncio.timeout(_EXIT_WAIT_S):
            await process.wait()

    async def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it has not exited in time."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(_EXIT_WAIT_S):
                await process.wait()
        except TimeoutError:
            await self.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def describe(self) -> str:
        state = "running" if not self.exited else f"exited ({self._returncode()})"
        return f"{self.name} [pid {self.pid}, {state}], log {self.log_path}:\n{self.log_tail()}"

    def _returncode(self) -> int | None:
        return self._process.returncode if self._process else None


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.1,
    context: Callable[[], str] | None = None,
) -> T:
    """Poll `probe` until it returns something other than None (or False); fail clearly.

    A probe that hangs is cut off too: the whole wait never exceeds `timeout_s` by more
    than `_PROBE_GRACE_S`."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    try:
        async with asyncio.timeout(timeout_s + _PROBE_GRACE_S):
            while True:
                result = await probe()
                if result is not None and result is not False:
                    return result
                last = result
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(interval_s)
    except TimeoutError:
        last = "a probe hung"
    detail = f"\n{context()}" if context else ""
    raise AssertionError(f"gave up after {timeout_s:.0f}s waiting for {what} ({last!r})" + detail)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def paybridge_command(*args: str) -> list[str]:
    """The installed `paybridge` console script of this interpreter's environment."""
    return [str(Path(sys.executable).with_name("paybridge")), *args]


def scrubbed_environ() -> dict[str, str]:
    """This process's environment without any PAYBRIDGE_* setting leaking into children."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PAYBRIDGE_")}
