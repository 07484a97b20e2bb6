"""Does a Salesforce mapping (paybridge's shipped defaults) fit the package? Returns problems.

Standard fields on standard objects (no `__c`) are the org's and are not checked; every custom
object and custom field a profile writes must be in the package directories that profile
deploys, with a compatible type, and with a unique, case-sensitive external ID where paybridge
upserts on it.
"""

from __future__ import annotations

from paybridge.mapping.salesforce_fields import FieldMapping, FieldType, SalesforceMapping
from tests.salesforce_package.package import APP, COMMERCE, Field, Package

# Which package directories an org of each profile deploys.
PROFILE_DIRS = {"custom": frozenset({APP}), "commerce": frozenset({APP, COMMERCE})}

COMPATIBLE: dict[FieldType, frozenset[str]] = {
    FieldType.TEXT: frozenset({"Text", "TextArea", "LongTextArea"}),
    FieldType.LONG_TEXT: frozenset({"LongTextArea"}),
    FieldType.NUMBER: frozenset({"Number"}),
    FieldType.CURRENCY: frozenset({"Currency"}),
    FieldType.CHECKBOX: frozenset({"Checkbox"}),
    FieldType.DATETIME: frozenset({"DateTime"}),
    FieldType.DATE: frozenset({"Date"}),
    FieldType.LOOKUP: frozenset({"Lookup"}),
    FieldType.MASTER_DETAIL: frozenset({"MasterDetail"}),
    FieldType.PICKLIST: frozenset({"Picklist"}),
}

# (profile, record, logical field) → the status map whose values the picklist must hold.
PICKLIST_MAPS = {
    ("custom", "payment", "status"): "payment",
    ("custom", "action", "status"): "action",
    ("custom", "action", "type"): "action_type",
    ("custom", "log", "direction"): "direction",
    ("custom", "payment_link", "status"): "payment_link",
    ("commerce", "log", "direction"): "direction",
}


def is_custom(api_name: str) -> bool:
    return api_name.endswith("__c")


def field_api_name(mapped: FieldMapping) -> str:
    """`Payment__r` (set through the parent's external ID) is the field `Payment__c`."""
    if mapped.via_external_id and mapped.name.endswith("__r"):
        return mapped.name.removesuffix("__r") + "__c"
    return mapped.name


def mapping_problems(mapping: SalesforceMapping, package: Package) -> list[str]:
    problems: list[str] = []
    for profile_name, profile in mapping.profiles.items():
        dirs = PROFILE_DIRS[profile_name]
        for record_name, record in profile.records.items():
            where = f"{profile_name}.{record_name} ({record.sobject})"
            if is_custom(record.sobject) and package.custom_objects.get(record.sobject) not in dirs:
                problems.append(f"{where}: custom object {record.sobject} is not in {sorted(dirs)}")
            if record.key_field and is_custom(record.key_field):
                key = _deployed(package, record.sobject, record.key_field, dirs)
                if key is None:
                    problems.append(f"{where}: key field {record.key_field} is not in the package")
                elif not (key.external_id and key.unique and key.case_sensitive):
                    problems.append(
                        f"{where}: key field {key.qualified} must be an external ID, unique "
                        "and case-sensitive"
                    )
            for logical, mapped in record.written_fields.items():
                api_name = field_api_name(mapped)
                if not is_custom(api_name):
                    continue
                label = f"{where} field {logical!r} → {api_name}"
                field = _deployed(package, record.sobject, api_name, dirs)
                if field is None:
                    problems.append(f"{label}: not in the package ({sorted(dirs)})")
                    continue
                problems.extend(f"{label}: {p}" for p in _type_problems(mapped, field))
                if mapped.via_external_id and mapped.references:
                    parent = _deployed(package, mapped.references, mapped.via_external_id, dirs)
                    if is_custom(mapped.via_external_id) and (
                        parent is None or not (parent.external_id and parent.unique)
                    ):
                        problems.append(
                            f"{label}: {mapped.references}.{mapped.via_external_id} must be a "
                            "unique external ID in the package"
                        )
                map_name = PICKLIST_MAPS.get((profile_name, record_name, logical))
                if map_name is not None:
                    wanted = set(profile.status_maps.get(map_name, {}).values())
                    missing = sorted(wanted - set(field.picklist_values))
                    if missing:
                        problems.append(f"{label}: picklist lacks {missing}")
                elif mapped.type is FieldType.PICKLIST and field.restricted:
                    problems.append(
                        f"{label}: restricted picklist without a status map; any value may come"
                    )
    return problems


def _deployed(package: Package, sobject: str, name: str, dirs: frozenset[str]) -> Field | None:
    field = package.field(sobject, name)
    return field if field is not None and field.package_dir in dirs else None


def _type_problems(mapped: FieldMapping, field: Field) -> list[str]:
    problems: list[str] = []
    if field.type not in COMPATIBLE[mapped.type]:
        problems.append(f"type {field.type} does not fit mapping type {mapped.type.value}")
    if mapped.max_length and field.length is not None and field.length < mapped.max_length:
        problems.append(f"length {field.length} < max_length {mapped.max_length}")
    if mapped.references and field.reference_to != mapped.references:
        problems.append(f"references {field.reference_to}, mapping says {mapped.references}")
    return problems
