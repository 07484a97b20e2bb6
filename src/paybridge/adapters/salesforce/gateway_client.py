"""POSTs signed gateway notifications to the org's payments notification URL (a Salesforce Site,
guest access: no OAuth). One attempt per call; the outbox task retries.

An org away (5xx, 408/429, timeouts, connection errors) raises SalesforceTransientError, like
every other Salesforce write, so the task waits the outage out without spending attempts; any
other answer is returned for the caller to judge (2xx recorded, 409 not yet, 4xx refused).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from paybridge.adapters.http import is_transient_status
from paybridge.adapters.salesforce.errors import SalesforceTransientError
from paybridge.adapters.salesforce.gateway_signatures import SIGNATURE_HEADER, signature_header


@dataclass(frozen=True, slots=True)
class NotificationAnswer:
    status_code: int
    body: str
    duration_ms: int


class GatewayNotificationClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        secrets: Sequence[str],
        unix_time: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._url = url
        self._secrets = tuple(secrets)
        self._unix_time = unix_time

    async def send(self, body: bytes) -> NotificationAnswer:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(
                body, self._secrets, timestamp=int(self._unix_time())
            ),
        }
        started = time.perf_counter()
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise SalesforceTransientError(
                f"gateway notification not delivered: {type(exc).__name__}"
            ) from exc
        duration_ms = round((time.perf_counter() - started) * 1000)
        if response.status_code >= 500 or is_transient_status(response.status_code):
            raise SalesforceTransientError(
                f"the org answered {response.status_code} to a gateway notification",
                status_code=response.status_code,
            )
        return NotificationAnswer(response.status_code, response.text[:2000], duration_ms)
