"""One way to build an httpx client and a retry policy, shared by every provider adapter.

Provider-neutral on purpose: the Checkout.com and Salesforce adapters both build on it and must
never import each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Self

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from paybridge import __version__

USER_AGENT = f"paybridge/{__version__}"

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_transient_status(status_code: int) -> bool:
    """True for statuses worth retrying: timeouts, rate limits and gateway/server failures."""
    return status_code in TRANSIENT_STATUSES


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header; None when absent or not delta-seconds.

    The HTTP-date form is ignored (it would need a clock and neither provider sends it).
    """
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def build_http_client(
    *,
    base_url: str,
    connect_timeout_s: float,
    read_timeout_s: float,
    write_timeout_s: float | None = None,
    pool_timeout_s: float = 5.0,
    max_connections: int = 100,
    max_keepalive_connections: int = 20,
    headers: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` with every timeout explicit and bounded connection pooling.

    `transport` lets tests and simulators plug in an ASGI app or a mock transport.
    The caller owns the client and closes it (`await client.aclose()`) in the lifespan.
    """
    timeout = httpx.Timeout(
        connect=connect_timeout_s,
        read=read_timeout_s,
        write=write_timeout_s if write_timeout_s is not None else read_timeout_s,
        pool=pool_timeout_s,
    )
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
    )
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        limits=limits,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        transport=transport,
        follow_redirects=False,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to retry a transient failure: attempt cap, total time budget, backoff bounds.

    A value, so tests inject `RetryPolicy.immediate(n)` and never sleep. The budget counts from
    the first attempt; no attempt starts after it (the synchronous API path must answer well
    before Apex's 10 s callout timeout).
    """

    max_attempts: int
    budget_s: float
    wait_initial_s: float = 0.25
    wait_max_s: float = 2.0
    honour_retry_after: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.budget_s <= 0:
            raise ValueError("budget_s must be positive")
        if self.wait_initial_s < 0 or self.wait_max_s < self.wait_initial_s:
            raise ValueError("need 0 <= wait_initial_s <= wait_max_s")

    @classmethod
    def immediate(cls, max_attempts: int = 3, *, budget_s: float = 30.0) -> Self:
        """No waiting at all (Retry-After included): for tests."""
        return cls(
            max_attempts=max_attempts,
            budget_s=budget_s,
            wait_initial_s=0.0,
            wait_max_s=0.0,
            honour_retry_after=False,
        )

    def next_wait_s(
        self, *, backoff_s: float, retry_after_s: float | None, elapsed_s: float
    ) -> float:
        """The sleep before the next attempt, never beyond the remaining budget.

        `Retry-After` (when honoured) replaces the jittered backoff: the server knows better.
        """
        wait = backoff_s
        if self.honour_retry_after and retry_after_s is not None:
            wait = retry_after_s
        remaining = self.budget_s - elapsed_s
        return max(0.0, min(wait, remaining))


RetryPredicate = Callable[[BaseException], bool]
RetryAfterHint = Callable[[BaseException], float | None]


def _no_hint(_: BaseException) -> float | None:
    return None


def build_retrying(
    policy: RetryPolicy,
    *,
    should_retry: RetryPredicate,
    retry_after: RetryAfterHint = _no_hint,
) -> AsyncRetrying:
    """A tenacity `AsyncRetrying` for one logical call under `policy`.

    Retries only exceptions `should_retry` accepts; stops at the attempt cap or when the next
    attempt could not start within the budget (`stop_before_delay` ⊇ `stop_after_delay`);
    waits with full-jitter exponential backoff or the server's `Retry-After`; re-raises the
    last exception (never a `RetryError`).
    """
    backoff = wait_random_exponential(multiplier=policy.wait_initial_s, max=policy.wait_max_s)

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        return policy.next_wait_s(
            backoff_s=backoff(state) if policy.wait_max_s > 0 else 0.0,
            retry_after_s=retry_after(error) if error is not None else None,
            elapsed_s=state.seconds_since_start or 0.0,
        )

    return AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.budget_s),
        wait=wait,
        retry=retry_if_exception(should_retry),
        reraise=True,
    )
