"""The dispute Case's record type and owner queue, resolved from developer names in the org.

The mapping file names them as an admin knows them (`record_type: Payment_Dispute`,
`owner_queue: Chargebacks`); Salesforce wants Ids, which differ per org and sandbox. They
are looked up once per process, on the first Case written; a failed lookup is not kept, so
a fix in the org takes effect on the next attempt. A value that already is an Id of the
right kind is used as it is.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import structlog

from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.mapping.salesforce_fields import ProfileMapping
from paybridge.mapping.salesforce_records import CaseAssignment

_log = structlog.get_logger(__name__)

_DEVELOPER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
RECORD_TYPE_PREFIX = "012"
QUEUE_PREFIX = "00G"


class CaseNotAssignable(LookupError):
    """The record type or queue the mapping names does not exist in the org."""


def record_type_soql(developer_name: str) -> str:
    return _by_developer_name("RecordType", "SobjectType = 'Case'", developer_name)


def queue_soql(developer_name: str) -> str:
    return _by_developer_name("Group", "Type = 'Queue'", developer_name)


class CaseAssignments:
    """Resolves, once, the Ids the profile's `dispute_case` mapping names."""

    def __init__(self, client: SalesforceClient, profile: ProfileMapping) -> None:
        self._client = client
        mapping = profile.records.get("dispute_case")
        self._record_type = mapping.record_type if mapping else None
        self._owner_queue = mapping.owner_queue if mapping else None
        self._resolved: CaseAssignment | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> CaseAssignment:
        """The Ids; raises `CaseNotAssignable` for a name the org does not have, and
        `SalesforceError` when the org cannot be asked."""
        if self._resolved is None:
            async with self._lock:
                if self._resolved is None:
                    self._resolved = await self._resolve()
        return self._resolved

    async def _resolve(self) -> CaseAssignment:
        resolved = CaseAssignment(
            record_type_id=await self._lookup(
                self._record_type, RECORD_TYPE_PREFIX, record_type_soql, "record_type"
            ),
            owner_id=await self._lookup(self._owner_queue, QUEUE_PREFIX, queue_soql, "owner_queue"),
        )
        _log.info(
            "salesforce.case_assignment.resolved",
            record_type=self._record_type,
            record_type_id=resolved.record_type_id,
            owner_queue=self._owner_queue,
            owner_id=resolved.owner_id,
        )
        return resolved

    async def _lookup(
        self, name: str | None, prefix: str, soql: Callable[[str], str], setting: str
    ) -> str | None:
        if not name:
            return None
        if is_salesforce_id(name, prefix):
            return name
        rows = await self._client.query(soql(name))
        if len(rows) != 1 or not isinstance(rows[0].get("Id"), str):
            raise CaseNotAssignable(
                f"`dispute_case.{setting}: {name}` names nothing in the org ({len(rows)} found):"
                " deploy it, or fix the mapping file"
            )
        return str(rows[0]["Id"])


def is_salesforce_id(value: str, prefix: str) -> bool:
    """A 15- or 18-character Id of the kind `prefix` names (its key prefix)."""
    return value.startswith(prefix) and len(value) in (15, 18) and value.isalnum()


def _by_developer_name(sobject: str, condition: str, developer_name: str) -> str:
    """Developer names are letters, digits and underscores (checked): nothing to escape."""
    if not _DEVELOPER_NAME.match(developer_name):
        raise CaseNotAssignable(f"{developer_name!r} is not a Salesforce developer name")
    where = f"{condition} AND DeveloperName = '{developer_name}'"
    return f"SELECT Id FROM {sobject} WHERE {where}"  # noqa: S608 — SOQL of checked names
