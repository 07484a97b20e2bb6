"""Write Salesforce records in as few API calls as possible and say what happened to each.

Two shapes: one Composite request per unit (≤ 25 subrequests, chunked in order) for trickles,
or, for bursts, sObject Collections per object type (≤ 200 records, parents' types first)
carried five to a Composite request, so one API call writes up to 1,000 records.
Everything uses `allOrNone: false`, so one bad record fails alone. A call that fails as a whole
(limit, outage, auth) stops the plan: writes not attempted are reported as such and the
caller decides (postpone, retry) — every write is an idempotent full-state upsert.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.composite_collections import (
    COLLECTIONS_MAX_RECORDS,
    COMPOSITE_MAX_BYTES,
    COMPOSITE_MAX_SUBREQUESTS,
    CollectionCall,
    pack,
)
from paybridge.adapters.salesforce.errors import (
    SalesforceError,
    SalesforcePermanentError,
    error_for,
)
from paybridge.adapters.salesforce.models import (
    CompositeResult,
    RecordResult,
    SalesforceErrorItem,
    collection_record,
    collection_update_record,
    encode_json,
)
from paybridge.mapping.salesforce_records import SalesforceRecord
from paybridge.metrics import Metrics

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Write:
    """One record to write on behalf of `owner` (a payment row id, or a log id).

    `log_id` marks an integration-log write: non-essential, it never fails its owner.
    """

    owner: str
    record: SalesforceRecord
    log_id: str | None = None

    @property
    def essential(self) -> bool:
        return self.log_id is None


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """Why Salesforce refused one record; `transient` failures are worth another attempt."""

    error_code: str
    message: str
    fields: tuple[str, ...] = ()
    transient: bool = False

    def describe(self, record: SalesforceRecord) -> str:
        where = f"{record.sobject} {record.key_value}"
        fields = f" [{', '.join(self.fields)}]" if self.fields else ""
        return f"{where}: {self.error_code}: {self.message}{fields}"


@dataclass
class WriteReport:
    """Per write (by index): None when written, a failure, or absent when never attempted."""

    writes: Sequence[Write]
    results: dict[int, RecordFailure | None]
    interrupted: SalesforceError | None = None

    def attempted(self, index: int) -> bool:
        return index in self.results

    def indexes_of(self, owner: str) -> list[int]:
        """The owner's writes, in write order (looked up, not searched: a batch of 200
        payments asks this for each of them)."""
        return self._by_owner.get(owner, [])

    @functools.cached_property
    def _by_owner(self) -> dict[str, list[int]]:
        by_owner: dict[str, list[int]] = {}
        for index, write in enumerate(self.writes):
            by_owner.setdefault(write.owner, []).append(index)
        return by_owner

    def log_outcomes(self, owner: str | None = None) -> tuple[list[str], list[str]]:
        """Ids of the (owner's) logs written, and of those Salesforce refused for good.
        Logs in neither list were not reached or failed transiently: still pending."""
        synced: list[str] = []
        refused: list[str] = []
        indexes = range(len(self.writes)) if owner is None else self.indexes_of(owner)
        for index in indexes:
            write = self.writes[index]
            if write.log_id is None or index not in self.results:
                continue
            failure = self.results[index]
            if failure is None:
                synced.append(write.log_id)
            elif not failure.transient:
                refused.append(write.log_id)
        return synced, refused

    def first_failure(self, owner: str) -> tuple[Write, RecordFailure] | None:
        """The owner's first failed essential write, in write order (parents come first)."""
        for index in self.indexes_of(owner):
            write, failure = self.writes[index], self.results.get(index)
            if write.essential and failure is not None:
                return write, failure
        return None


class SalesforceWriter:
    """Runs write plans through a `SalesforceClient`, counting calls per operation."""

    def __init__(
        self, client: SalesforceClient, *, metrics: Metrics, type_order: Sequence[str]
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._rank = {sobject: index for index, sobject in enumerate(type_order)}

    def usage_above(self, ratio: float) -> bool:
        """Whether the last `Sforce-Limit-Info` seen put daily API usage above `ratio`."""
        usage = self._client.last_api_usage
        return usage is not None and usage[1] > 0 and usage[0] / usage[1] > ratio

    async def refresh_usage_above(self, ratio: float) -> bool:
        """Usage is only learnt from responses: ask `/limits` once before deciding again."""
        before = self._client.api_calls
        try:
            await self._client.limits()
        except SalesforceError:
            return True
        finally:
            self._count("limits", self._client.api_calls - before)
        return self.usage_above(ratio)

    async def per_unit(self, units: Sequence[Sequence[Write]]) -> WriteReport:
        """One Composite request per unit (more when a unit exceeds 25 records)."""
        writes = [write for unit in units for write in unit]
        report = WriteReport(writes=writes, results={})
        start = 0
        try:
            for unit in units:
                indexes = list(range(start, start + len(unit)))
                start += len(unit)
                for chunk in _chunks(indexes, COMPOSITE_MAX_SUBREQUESTS):
                    await self._composite(report, _skip_failed_owners(report, chunk))
        except SalesforceError as exc:  # limit, outage, auth: refused requests never get here
            report.interrupted = exc
        return report

    async def grouped(self, writes: Sequence[Write]) -> WriteReport:
        """sObject Collections (every record of a type together, parents' types first),
        carried five to a Composite request: one API call writes up to 1,000 records.

        Between composite requests, records of owners already refused are dropped; within
        one, a child of a refused parent fails alone on its lookup (or, when the parent
        exists from an earlier sync, is written with its true state: upserts are idempotent).
        """
        report = WriteReport(writes=list(writes), results={})
        pending = self._collections(report.writes)
        try:
            while pending:
                failed = _failed_owners(report)
                live = [
                    chunk for chunk in (_live(report, c, failed) for c in pending) if chunk.units
                ]
                if not live:
                    break
                calls = [_collection_call(report.writes, chunk) for chunk in live]
                first = pack(calls, api_version=self._client.api_version)[0]
                await self._composite_collections(report, live[: len(first)], calls[: len(first)])
                pending = live[len(first) :]
        except SalesforceError as exc:  # limit, outage, auth: refused requests never get here
            report.interrupted = exc
        return report

    def _collections(self, writes: Sequence[Write]) -> list[_Chunk]:
        """Collections in write order: types by rank, each chunk ≤ 200 records, one record
        named once per chunk. Identical records (one Order for several of its payments) are
        sent once and their result shared."""
        groups: dict[tuple[str, str | None], dict[tuple[str, str], list[int]]] = {}
        for index, write in enumerate(writes):
            record = write.record
            ext_field = record.key_field if record.key_kind == "external_id" else None
            if record.key_kind == "external_id" and not ext_field:
                raise ValueError(f"{record.sobject} record keyed by external ID has no key_field")
            same = (record.key_value, encode_json(record.fields).decode())
            groups.setdefault((record.sobject, ext_field), {}).setdefault(same, []).append(index)
        ordered = sorted(groups.items(), key=lambda item: self._rank.get(item[0][0], len(groups)))
        return [
            _Chunk(sobject=sobject, ext_field=ext_field, units=units)
            for (sobject, ext_field), same in ordered
            for units in _distinct_chunks(writes, list(same.values()), COLLECTIONS_MAX_RECORDS)
        ]

    # --- calls -----------------------------------------------------------------------------

    async def _composite(self, report: WriteReport, indexes: Sequence[int]) -> None:
        records = [report.writes[index].record for index in indexes]
        await self._call(
            report,
            indexes,
            "composite",
            lambda: self._client.composite_records(records, all_or_none=False),
            _composite_failure,
        )

    async def _composite_collections(
        self, report: WriteReport, chunks: Sequence[_Chunk], calls: Sequence[CollectionCall]
    ) -> None:
        """One composite request of collections; each record's result goes to every write
        it stands for. A composite refused as a whole fails each of its records."""
        before = self._client.api_calls
        try:
            results = await self._client.composite_collections(calls)
        except SalesforcePermanentError as exc:
            failure = RecordFailure(
                error_code=exc.error_code or exc.code, message=exc.message, fields=tuple(exc.fields)
            )
            for chunk in chunks:
                _settle(report, chunk.units, [failure] * len(chunk.units))
            return
        finally:
            self._count("composite_collections", self._client.api_calls - before)
        for chunk, result in zip(chunks, results, strict=True):
            _settle(report, chunk.units, _collection_failures(result, len(chunk.units)))

    async def _call(
        self,
        report: WriteReport,
        indexes: Sequence[int],
        operation: str,
        call: Callable[[], Awaitable[list[T]]],
        failure_of: Callable[[T], RecordFailure | None],
    ) -> None:
        """Run one API call for the writes at `indexes` and record each one's result; a
        request refused as a whole fails each of its records."""
        if not indexes:
            return
        before = self._client.api_calls
        try:
            results = await call()
        except SalesforcePermanentError as exc:
            failure = RecordFailure(
                error_code=exc.error_code or exc.code,
                message=exc.message,
                fields=tuple(exc.fields),
            )
            for index in indexes:
                report.results[index] = failure
            return
        finally:
            self._count(operation, self._client.api_calls - before)
        for index, result in zip(indexes, results, strict=True):
            report.results[index] = failure_of(result)

    def _count(self, operation: str, calls: int) -> None:
        if calls:
            self._metrics.salesforce_calls.labels(operation).inc(calls)
        usage = self._client.last_api_usage
        if usage is not None:
            self._metrics.salesforce_api_usage.labels("used").set(usage[0])
            self._metrics.salesforce_api_usage.labels("limit").set(usage[1])


def _failure_of(status_code: int, errors: list[SalesforceErrorItem]) -> RecordFailure:
    typed = error_for(status_code, errors)
    first = errors[0] if errors else None
    return RecordFailure(
        error_code=first.error_code if first else typed.code,
        message=first.message if first else typed.message,
        fields=tuple(first.fields) if first else (),
        transient=not isinstance(typed, SalesforcePermanentError),
    )


def _composite_failure(result: CompositeResult) -> RecordFailure | None:
    return None if result.ok else _failure_of(result.http_status_code, result.errors)


def _record_failure(result: RecordResult) -> RecordFailure | None:
    # Collections report per-record errors without an HTTP status: classify by errorCode.
    return None if result.success else _failure_of(400, result.errors)


def _failed_owners(report: WriteReport) -> set[str]:
    return {
        write.owner
        for index, write in enumerate(report.writes)
        if write.essential and report.results.get(index) is not None
    }


def _skip_failed_owners(report: WriteReport, indexes: Sequence[int]) -> list[int]:
    """Children of a refused parent would only fail on the lookup: don't send them."""
    failed = _failed_owners(report)
    return [index for index in indexes if report.writes[index].owner not in failed]


def _chunks(items: Sequence[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One collection to send: `units` are the writes of each record (one, or several
    identical ones); `ext_field` None means an update by record Id."""

    sobject: str
    ext_field: str | None
    units: list[list[int]]


def _live(report: WriteReport, chunk: _Chunk, failed: set[str]) -> _Chunk:
    """The chunk without records whose every owner was already refused."""
    kept = [unit for unit in chunk.units if any(report.writes[i].owner not in failed for i in unit)]
    return _Chunk(sobject=chunk.sobject, ext_field=chunk.ext_field, units=kept)


def _collection_call(writes: Sequence[Write], chunk: _Chunk) -> CollectionCall:
    entry = collection_update_record if chunk.ext_field is None else collection_record
    records = [entry(writes[unit[0]].record) for unit in chunk.units]
    return CollectionCall(sobject=chunk.sobject, ext_field=chunk.ext_field, records=records)


def _collection_failures(result: CompositeResult, count: int) -> list[RecordFailure | None]:
    """Per record: a collections subrequest answers 200 with one result per record, or
    fails as a whole (malformed, or a limit) with an error array."""
    if result.ok and isinstance(result.body, list) and len(result.body) == count:
        return [_record_failure(RecordResult.model_validate(item)) for item in result.body]
    failure = _composite_failure(result) or RecordFailure(
        error_code="UNEXPECTED_RESPONSE",
        message=f"a collection of {count} records got an unreadable answer",
        transient=True,
    )
    return [failure] * count


def _settle(
    report: WriteReport, units: Sequence[Sequence[int]], failures: Sequence[RecordFailure | None]
) -> None:
    for unit, failure in zip(units, failures, strict=True):
        for index in unit:
            report.results[index] = failure


def _distinct_chunks(
    writes: Sequence[Write], units: Sequence[list[int]], size: int
) -> list[list[list[int]]]:
    """Chunks of at most `size` records, each under the composite byte budget, where no
    record key repeats (Salesforce refuses a collection that names the same record twice)."""
    budget = COMPOSITE_MAX_BYTES // 2
    chunks: list[list[list[int]]] = []
    keys: list[set[str]] = []
    used: list[int] = []
    for unit in units:
        record = writes[unit[0]].record
        weight = len(encode_json(record.fields)) + len(record.key_value) + 64
        target = next(
            (
                n
                for n, chunk in enumerate(chunks)
                if len(chunk) < size
                and record.key_value not in keys[n]
                and used[n] + weight <= budget
            ),
            None,
        )
        if target is None:
            chunks.append([])
            keys.append(set())
            used.append(0)
            target = len(chunks) - 1
        chunks[target].append(unit)
        keys[target].add(record.key_value)
        used[target] += weight
    return chunks
