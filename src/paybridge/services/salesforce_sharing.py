"""Does the integration user see and edit every record paybridge writes, whoever owns it?

With a Private sharing default and an owner queue, a Case the queue owns is invisible to the
integration user: the next upsert by external ID finds nothing, inserts, and fails
DUPLICATE_VALUE. View All + Modify All on each written object (Paybridge_Integration grants
them), or the View All Data + Modify All Data user permissions, keep every record in sight.

The grants are read from the user's permission sets, the profile's own included (Salesforce
stores a profile's permissions in a permission set it owns, and its assignment in
PermissionSetAssignment):
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionsetassignment.htm
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_objectpermissions.htm
Since Summer '20 reading ObjectPermissions needs View Setup and Configuration; without it the
grants cannot be read, which is reported as such, never as a pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.errors import SalesforceError

_RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_SOQL_WORD = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass
class SharingReport:
    """Objects whose records the integration user may all see and edit, and the gaps."""

    covered: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def check_sharing(client: SalesforceClient, sobjects: Iterable[str]) -> SharingReport:
    """View All + Modify All (or View/Modify All Data) for each of `sobjects`."""
    wanted = sorted(set(sobjects))
    report = SharingReport()
    user_id = await client.running_user_id()
    if user_id is None or not _RECORD_ID.match(user_id):
        report.problems.append(
            "record access: the token response names no user, so View All/Modify All on "
            f"{', '.join(wanted)} cannot be checked"
        )
        return report
    try:
        grants = await _grants(client, user_id, wanted)
    except SalesforceError as exc:
        reason = exc.error_code or exc.code
        report.problems.append(
            f"record access: cannot read the integration user's permissions ({reason}); give it "
            "View Setup and Configuration for the check, or confirm in Setup that it has View "
            f"All and Modify All on {', '.join(wanted)}"
        )
        return report
    for sobject in wanted:
        if grants.all_data or sobject in grants.objects:
            report.covered.append(sobject)
        else:
            report.problems.append(
                f"{sobject}: the integration user lacks View All and Modify All; records it "
                "does not own (a queue's Case) turn invisible and their next upsert fails "
                "DUPLICATE_VALUE (Paybridge_Integration grants them on the CKO objects, Case "
                "and Order)"
            )
    return report


@dataclass
class _Grants:
    all_data: bool
    objects: set[str]


async def _grants(client: SalesforceClient, user_id: str, sobjects: list[str]) -> _Grants:
    assignments = await client.query(
        _select("PermissionSetId", "PermissionSetAssignment", AssigneeId=[user_id])
    )
    parents = sorted({str(row["PermissionSetId"]) for row in assignments})
    parents = [parent for parent in parents if _RECORD_ID.match(parent)]
    if not parents:
        return _Grants(all_data=False, objects=set())
    permission_sets = await client.query(
        _select("Id, PermissionsViewAllData, PermissionsModifyAllData", "PermissionSet", Id=parents)
    )
    view_all_data = any(row.get("PermissionsViewAllData") is True for row in permission_sets)
    modify_all_data = any(row.get("PermissionsModifyAllData") is True for row in permission_sets)
    rows = await client.query(
        _select(
            "SobjectType, PermissionsViewAllRecords, PermissionsModifyAllRecords",
            "ObjectPermissions",
            ParentId=parents,
            SobjectType=sobjects,
        )
    )
    viewable = {row["SobjectType"] for row in rows if row.get("PermissionsViewAllRecords") is True}
    editable = {
        row["SobjectType"] for row in rows if row.get("PermissionsModifyAllRecords") is True
    }
    return _Grants(all_data=view_all_data and modify_all_data, objects=viewable & editable)


def _select(fields: str, sobject: str, **where: list[str]) -> str:
    """`SELECT fields FROM sobject WHERE a IN (…) AND …` of checked literals."""
    conditions = " AND ".join(f"{name} IN ({_literals(values)})" for name, values in where.items())
    return f"SELECT {fields} FROM {sobject} WHERE {conditions}"  # noqa: S608 — checked literals


def _literals(values: Iterable[str]) -> str:
    """`'a', 'b'` for a SOQL IN list. Ids and API names are letters, digits and underscores
    (checked here), so there is nothing to escape."""
    items = list(values)
    unsafe = [value for value in items if not _SOQL_WORD.match(value)]
    if unsafe:
        raise ValueError(f"not an Id or API name: {unsafe!r}")
    return ", ".join(f"'{value}'" for value in items)
