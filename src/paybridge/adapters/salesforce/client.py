"""Typed async client for the Salesforce REST API calls paybridge makes.

Every call: bearer token from the `TokenProvider` (on 401, one refresh and one retry), bounded
jittered retries of transient failures (UNABLE_TO_LOCK_ROW, 5xx, transport errors), typed
errors otherwise, and `Sforce-Limit-Info` read into `last_api_usage`. Retrying a write is safe
because paybridge only writes by upsert on external ID or update by record Id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from paybridge.adapters.http import RetryPolicy, build_retrying
from paybridge.adapters.salesforce.auth import TokenProvider
from paybridge.adapters.salesforce.composite_collections import (
    COLLECTIONS_MAX_RECORDS,
    COMPOSITE_MAX_COLLECTIONS,
    COMPOSITE_MAX_SUBREQUESTS,
    CollectionCall,
)
from paybridge.adapters.salesforce.errors import (
    SalesforceMultipleMatches,
    SalesforceTransientError,
    SalesforceUnavailable,
    error_for,
)
from paybridge.adapters.salesforce.models import (
    ApiLimit,
    ApiVersion,
    CompositeResult,
    CompositeSubrequest,
    RecordLike,
    RecordResult,
    SObjectDescribe,
    UpsertResult,
    encode_json,
    parse_error_items,
    record_subrequests,
)

LIMIT_INFO_HEADER = "Sforce-Limit-Info"
# `api-usage=10018/100000`, possibly among `api-bursts=…` / `per-app-api-usage=…` entries.
_API_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


def default_retry_policy() -> RetryPolicy:
    """Worker-side writes: a few attempts within 30 s (Salesforce sends no Retry-After)."""
    return RetryPolicy(
        max_attempts=4,
        budget_s=30.0,
        wait_initial_s=0.5,
        wait_max_s=8.0,
        honour_retry_after=False,
    )


def parse_api_usage(header: str | None) -> tuple[int, int] | None:
    """`(used, limit)` from a `Sforce-Limit-Info` header, None when absent or unreadable."""
    match = _API_USAGE.search(header or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class SalesforceClient:
    """One org's REST API over an injected `httpx.AsyncClient` (the caller owns and closes it)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        instance_url: str,
        api_version: str,
        token_provider: TokenProvider,
        retry_policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._http = http
        self._instance_url = instance_url.rstrip("/")
        self.api_version = api_version.removeprefix("v")
        self._tokens = token_provider
        self._retry_policy = retry_policy or default_retry_policy()
        self._timeout = timeout
        self.api_calls = 0
        self.last_api_usage: tuple[int, int] | None = None

    @property
    def data_path(self) -> str:
        return f"/services/data/v{self.api_version}"

    async def upsert(
        self, sobject: str, ext_field: str, ext_value: str, fields: Mapping[str, Any]
    ) -> UpsertResult:
        """Create (201) or update (200/204) the record whose `ext_field` is `ext_value`."""
        body = {name: value for name, value in fields.items() if name != ext_field}
        path = f"{self.data_path}/sobjects/{sobject}/{ext_field}/{quote(ext_value, safe='')}"
        response = await self._request("PATCH", path, body=body)
        if not response.content:
            return UpsertResult(created=response.status_code == 201)
        result = UpsertResult.model_validate(response.json())
        if result.created is None:
            return result.model_copy(update={"created": response.status_code == 201})
        return result

    async def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        path = f"{self.data_path}/sobjects/{sobject}/{quote(record_id, safe='')}"
        await self._request("PATCH", path, body=dict(fields))

    async def composite(
        self, subrequests: Sequence[CompositeSubrequest], all_or_none: bool
    ) -> list[CompositeResult]:
        """One API call for up to 25 subrequests, run in order (`collateSubrequests: false`).

        The envelope is 200 even when subrequests fail: read each result's status and errors.
        """
        if len(subrequests) > COMPOSITE_MAX_SUBREQUESTS:
            raise ValueError(
                f"a composite request takes at most {COMPOSITE_MAX_SUBREQUESTS} subrequests, "
                f"got {len(subrequests)}"
            )
        if not subrequests:
            return []
        body = {
            "allOrNone": all_or_none,
            "collateSubrequests": False,
            "compositeRequest": [item.to_wire() for item in subrequests],
        }
        response = await self._request("POST", f"{self.data_path}/composite", body=body)
        payload = response.json()
        return [CompositeResult.model_validate(item) for item in payload["compositeResponse"]]

    async def composite_records(
        self, records: Sequence[RecordLike], *, all_or_none: bool
    ) -> list[CompositeResult]:
        """Upsert/update `records` (parents first) in one composite request."""
        subrequests = record_subrequests(records, api_version=self.api_version)
        return await self.composite(subrequests, all_or_none=all_or_none)

    async def composite_collections(self, calls: Sequence[CollectionCall]) -> list[CompositeResult]:
        """Up to 5 sObject Collections writes in one composite request: one API call, run in
        order, each collection and the composite with `allOrNone: false`."""
        if len(calls) > COMPOSITE_MAX_COLLECTIONS:
            raise ValueError(
                f"a composite request takes at most {COMPOSITE_MAX_COLLECTIONS} collections "
                f"subrequests, got {len(calls)}"
            )
        subrequests = [
            call.subrequest(api_version=self.api_version, reference_id=f"c{index}")
            for index, call in enumerate(calls)
        ]
        return await self.composite(subrequests, all_or_none=False)

    async def collections_upsert(
        self,
        sobject: str,
        ext_field: str,
        records: Sequence[Mapping[str, Any]],
        all_or_none: bool = False,
    ) -> list[RecordResult]:
        """One API call for up to 200 records of one type, results in request order."""
        if len(records) > COLLECTIONS_MAX_RECORDS:
            raise ValueError(
                f"a collections upsert takes at most {COLLECTIONS_MAX_RECORDS} records, "
                f"got {len(records)}"
            )
        if not records:
            return []
        wire = [_typed_record(record, sobject) for record in records]
        path = f"{self.data_path}/composite/sobjects/{sobject}/{ext_field}"
        response = await self._request(
            "PATCH", path, body={"allOrNone": all_or_none, "records": wire}
        )
        return [RecordResult.model_validate(item) for item in response.json()]

    async def collections_update(
        self, records: Sequence[Mapping[str, Any]], all_or_none: bool = False
    ) -> list[RecordResult]:
        """One API call updating up to 200 records by Id (`PATCH /composite/sobjects`).

        Each record carries `attributes.type` and `id`; results come back in request order.
        """
        if len(records) > COLLECTIONS_MAX_RECORDS:
            raise ValueError(
                f"a collections update takes at most {COLLECTIONS_MAX_RECORDS} records, "
                f"got {len(records)}"
            )
        if not records:
            return []
        for record in records:
            attributes = record.get("attributes")
            if not isinstance(attributes, Mapping) or not attributes.get("type"):
                raise ValueError("every record of a collections update needs attributes.type")
            if not record.get("id"):
                raise ValueError("every record of a collections update needs its record `id`")
        path = f"{self.data_path}/composite/sobjects"
        response = await self._request(
            "PATCH", path, body={"allOrNone": all_or_none, "records": list(records)}
        )
        return [RecordResult.model_validate(item) for item in response.json()]

    async def describe(self, sobject: str) -> SObjectDescribe:
        response = await self._request("GET", f"{self.data_path}/sobjects/{sobject}/describe")
        return SObjectDescribe.model_validate(response.json())

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """`GET …/query?q=`: every record the SOQL selects (following `nextRecordsUrl`)."""
        path: str | None = f"{self.data_path}/query?q={quote(soql, safe='')}"
        records: list[dict[str, Any]] = []
        while path is not None:
            page = (await self._request("GET", path)).json()
            records += [record for record in page.get("records", []) if isinstance(record, dict)]
            next_url = page.get("nextRecordsUrl")
            path = next_url if not page.get("done", True) and isinstance(next_url, str) else None
        return records

    async def running_user_id(self) -> str | None:
        """The Id of the user the integration runs as (from the token's identity URL)."""
        await self._tokens.get_token()
        token = self._tokens.current
        return token.user_id if token is not None else None

    async def versions(self) -> list[ApiVersion]:
        """`GET /services/data/`: the API versions the org serves (no limit is consumed)."""
        response = await self._request("GET", "/services/data/")
        return [ApiVersion.model_validate(item) for item in response.json()]

    async def limits(self) -> dict[str, ApiLimit]:
        response = await self._request("GET", f"{self.data_path}/limits")
        return {
            name: ApiLimit.model_validate(value)
            for name, value in response.json().items()
            if isinstance(value, dict) and "Max" in value and "Remaining" in value
        }

    async def _request(
        self, method: str, path: str, *, body: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        retrying = build_retrying(
            self._retry_policy,
            should_retry=lambda error: isinstance(error, SalesforceTransientError),
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._authenticated(method, path, body)
        except SalesforceUnavailable:
            raise
        except SalesforceTransientError as exc:
            raise SalesforceUnavailable(
                f"{exc.message} (gave up after retries)",
                status_code=exc.status_code,
                errors=exc.errors,
            ) from exc
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    async def _authenticated(
        self, method: str, path: str, body: Mapping[str, Any] | None
    ) -> httpx.Response:
        token = await self._tokens.get_token()
        response = await self._send(method, path, body, token)
        if response.status_code == 401:
            # Session expired or revoked: refresh once (single-flight) and try once more.
            token = await self._tokens.refresh(token)
            response = await self._send(method, path, body, token)
        if response.status_code < 300:
            return response
        payload = _json_or_none(response)
        if response.status_code == 300:
            urls = [str(item) for item in payload] if isinstance(payload, list) else []
            raise SalesforceMultipleMatches(
                f"{method} {path} matched {len(urls)} records; nothing was written", urls=urls
            )
        raise error_for(response.status_code, parse_error_items(payload))

    async def _send(
        self, method: str, path: str, body: Mapping[str, Any] | None, token: str
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        content = None
        if body is not None:
            content = encode_json(body)
            headers["Content-Type"] = "application/json"
        self.api_calls += 1
        try:
            response = await self._http.request(
                method,
                self._instance_url + path,
                content=content,
                headers=headers,
                timeout=self._timeout if self._timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            raise SalesforceTransientError(f"{method} {path} failed: {exc!r}") from exc
        usage = parse_api_usage(response.headers.get(LIMIT_INFO_HEADER))
        if usage is not None:
            self.last_api_usage = usage
        return response


def _typed_record(record: Mapping[str, Any], sobject: str) -> dict[str, Any]:
    attributes = record.get("attributes") or {}
    declared = attributes.get("type", sobject) if isinstance(attributes, Mapping) else sobject
    if declared != sobject:
        raise ValueError(f"a {sobject} collections upsert cannot carry a {declared} record")
    return {**record, "attributes": {**attributes, "type": sobject}}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
