"""`paybridge salesforce check`: can we log in, is the API version served, does every mapped
sObject and field exist, is every upsert key an external ID, do the dispute Case's record
type and owner queue exist, does the mapping write CurrencyIsoCode exactly when the org has
multiple currencies, and does the integration user see every record it writes? The first
thing an admin runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.errors import SalesforceAuthError, SalesforceError
from paybridge.adapters.salesforce.models import SObjectDescribe
from paybridge.mapping.salesforce_fields import ProfileMapping, RecordMapping
from paybridge.mapping.salesforce_records import CURRENCY_ISO_CODE
from paybridge.services.case_assignment import CaseAssignments, CaseNotAssignable
from paybridge.services.salesforce_sharing import check_sharing


@dataclass
class CheckReport:
    """What was checked and every problem found (empty `problems` means ready to sync)."""

    api_version: str
    versions: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    # What was found that is not a problem (currencies, record access), one line each.
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def check_salesforce(client: SalesforceClient, profile: ProfileMapping) -> CheckReport:
    report = CheckReport(api_version=client.api_version)
    try:
        versions = await client.versions()
    except SalesforceAuthError as exc:
        report.problems.append(f"authentication failed: {exc.message}")
        return report
    report.versions = [item.version for item in versions]
    if client.api_version not in report.versions:
        served = ", ".join(report.versions) or "none"
        report.problems.append(
            f"API version {client.api_version} is not served by the org (it serves {served})"
        )
        return report
    describes = _Describes(client, report)
    for name, record in profile.records.items():
        await _check_record(describes, report, name, record)
    try:
        await CaseAssignments(client, profile).get()
    except CaseNotAssignable as exc:
        report.problems.append(str(exc))
    except SalesforceError as exc:
        report.problems.append(f"cannot look up the dispute Case's record type or queue: {exc}")
    await _check_currency(describes, report, profile)
    sharing = await check_sharing(client, (record.sobject for record in profile.records.values()))
    if sharing.covered:
        report.notes.append(f"View All + Modify All on {', '.join(sharing.covered)}")
    report.problems.extend(sharing.problems)
    return report


async def _check_currency(
    describes: _Describes, report: CheckReport, profile: ProfileMapping
) -> None:
    """Multi-currency orgs show CurrencyIsoCode on every object; the mapping must then write it
    (else records take the integration user's currency), and must not where it does not exist."""
    owned = sorted(
        {record.sobject for record in profile.records.values() if record.key_kind == "external_id"}
    )
    with_field: list[str] = []
    without_field: list[str] = []
    active: set[str] = set()
    for sobject in owned:
        described = await describes.get(sobject)
        if described is None:
            continue  # reported already
        currency = described.field(CURRENCY_ISO_CODE)
        if currency is None:
            without_field.append(sobject)
            continue
        with_field.append(sobject)
        active |= {value.value for value in currency.picklist_values if value.active}
    setting = f"profiles.{profile.kind}.multi_currency"
    if not with_field:
        report.notes.append("single currency (no CurrencyIsoCode): paybridge does not write it")
        if profile.multi_currency:
            report.problems.append(
                f"{setting} is true but no object paybridge writes has {CURRENCY_ISO_CODE} "
                "(a single-currency org refuses it): set it to false"
            )
        return
    currencies = ", ".join(sorted(active)) or "none listed"
    if not profile.multi_currency:
        report.problems.append(
            f"the org has multiple currencies ({CURRENCY_ISO_CODE} on {', '.join(with_field)}) "
            f"but the mapping does not write it: set {setting}: true"
        )
        return
    report.notes.append(f"multi-currency: writes {CURRENCY_ISO_CODE} (active: {currencies})")
    report.problems.extend(
        f"{sobject}: no {CURRENCY_ISO_CODE} field although {setting} is true"
        for sobject in without_field
    )


class _Describes:
    """Describe each sObject once; a missing one is reported once."""

    def __init__(self, client: SalesforceClient, report: CheckReport) -> None:
        self._client = client
        self._report = report
        self._seen: dict[str, SObjectDescribe | None] = {}

    async def get(self, sobject: str) -> SObjectDescribe | None:
        if sobject not in self._seen:
            try:
                self._seen[sobject] = await self._client.describe(sobject)
                self._report.objects.append(sobject)
            except SalesforceError as exc:
                self._seen[sobject] = None
                self._report.problems.append(
                    f"{sobject}: cannot describe ({exc.error_code or exc.code}): not deployed, "
                    "not licensed, or not visible to the integration user"
                )
        return self._seen[sobject]


async def _check_record(
    describes: _Describes, report: CheckReport, name: str, record: RecordMapping
) -> None:
    described = await describes.get(record.sobject)
    if described is None:
        return
    where = f"{record.sobject} (record {name!r})"
    if record.key_field:
        key = described.field(record.key_field)
        if key is None:
            report.problems.append(f"{where}: key field {record.key_field} is missing")
        elif not key.external_id:
            report.problems.append(
                f"{where}: key field {record.key_field} is not an external ID (upsert needs one)"
            )
    for logical, mapped in record.written_fields.items():
        if mapped.name == record.key_field:
            continue
        if mapped.via_external_id:
            relationship = next(
                (item for item in described.fields if item.relationship_name == mapped.name), None
            )
            if relationship is None:
                report.problems.append(
                    f"{where}: field {logical!r}: no relationship named {mapped.name}"
                )
                continue
            parent = await describes.get(mapped.references or "")
            target = parent.field(mapped.via_external_id) if parent else None
            if parent is not None and (target is None or not target.external_id):
                report.problems.append(
                    f"{where}: field {logical!r}: {mapped.references}.{mapped.via_external_id} "
                    "must exist and be an external ID to link records by it"
                )
        elif described.field(mapped.name) is None:
            report.problems.append(f"{where}: field {logical!r}: {mapped.name} is missing")
    report.problems.extend(
        f"{where}: constant field {constant} is missing"
        for constant in record.constants
        if described.field(constant) is None
    )
