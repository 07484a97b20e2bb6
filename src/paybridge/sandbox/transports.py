"""Fault-injecting httpx transports for tests and the e2e suite."""

from __future__ import annotations

import httpx


class LosingResponses(httpx.AsyncBaseTransport):
    """Forwards requests but loses the next N responses as read timeouts: Checkout.com did
    the work, paybridge never heard — the case idempotency keys exist for."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, lose_next: int = 0) -> None:
        self.inner = inner
        self.lose_next = lose_next

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.lose_next > 0:
            self.lose_next -= 1
            await response.aread()
            raise httpx.ReadTimeout("simulated: response lost", request=request)
        return response
