"""The shared HTTP building blocks: client construction, transient statuses, retry policy."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from paybridge.adapters.http import (
    USER_AGENT,
    RetryPolicy,
    build_http_client,
    build_retrying,
    is_transient_status,
    parse_retry_after,
)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses(status: int) -> None:
    assert is_transient_status(status)


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404, 409, 422, 501, 505])
def test_non_transient_statuses(status: int) -> None:
    assert not is_transient_status(status)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        (None, None),
        ("-1", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


async def test_client_has_every_timeout_explicit() -> None:
    async with build_http_client(
        base_url="https://api.sandbox.checkout.com", connect_timeout_s=3, read_timeout_s=7
    ) as client:
        assert client.timeout == httpx.Timeout(connect=3, read=7, write=7, pool=5)
        assert client.headers["User-Agent"] == USER_AGENT
        assert str(client.base_url) == "https://api.sandbox.checkout.com"


@pytest.mark.parametrize(
    "arguments",
    [
        {"max_attempts": 0, "budget_s": 1},
        {"max_attempts": 1, "budget_s": 0},
        {"max_attempts": 1, "budget_s": 1, "wait_initial_s": 2, "wait_max_s": 1},
    ],
)
def test_nonsense_policies_are_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        RetryPolicy(**arguments)  # type: ignore[arg-type]


def test_retry_after_replaces_backoff_but_never_exceeds_the_budget() -> None:
    policy = RetryPolicy(max_attempts=3, budget_s=8.0)
    assert policy.next_wait_s(backoff_s=0.4, retry_after_s=None, elapsed_s=1.0) == 0.4
    assert policy.next_wait_s(backoff_s=0.4, retry_after_s=2.0, elapsed_s=1.0) == 2.0
    assert policy.next_wait_s(backoff_s=0.4, retry_after_s=30.0, elapsed_s=5.0) == 3.0
    assert policy.next_wait_s(backoff_s=0.4, retry_after_s=None, elapsed_s=9.0) == 0.0


def test_the_immediate_policy_never_waits() -> None:
    policy = RetryPolicy.immediate(5)
    assert policy.max_attempts == 5
    assert policy.next_wait_s(backoff_s=0.0, retry_after_s=10.0, elapsed_s=0.0) == 0.0


class FlakyError(Exception):
    pass


def is_flaky(error: BaseException) -> bool:
    return isinstance(error, FlakyError)


async def run_failing(
    policy: RetryPolicy,
    error: Exception,
    attempts: list[int],
    *,
    retry_after: Callable[[BaseException], float | None] | None = None,
) -> None:
    """Run an always-failing call under `policy`, appending each attempt number."""
    retrying = (
        build_retrying(policy, should_retry=is_flaky, retry_after=retry_after)
        if retry_after is not None
        else build_retrying(policy, should_retry=is_flaky)
    )
    async for attempt in retrying:
        with attempt:
            attempts.append(attempt.retry_state.attempt_number)
            raise error


async def test_retrying_stops_at_the_cap_and_reraises_the_original_error() -> None:
    attempts: list[int] = []
    error = FlakyError()
    with pytest.raises(FlakyError) as caught:
        await run_failing(RetryPolicy.immediate(4), error, attempts)
    assert caught.value is error
    assert attempts == [1, 2, 3, 4]


async def test_retrying_leaves_other_errors_alone() -> None:
    attempts: list[int] = []
    with pytest.raises(KeyError):
        await run_failing(RetryPolicy.immediate(4), KeyError("not transient"), attempts)
    assert attempts == [1]


async def test_a_retry_after_beyond_the_budget_ends_retrying_now() -> None:
    policy = RetryPolicy(max_attempts=2, budget_s=0.05, wait_initial_s=0.0, wait_max_s=0.0)
    attempts: list[int] = []
    # 10 s cannot fit in a 50 ms budget: give up at once instead of sleeping in vain.
    with pytest.raises(FlakyError):
        await run_failing(policy, FlakyError(), attempts, retry_after=lambda _: 10.0)
    assert attempts == [1]
