"""The simulated org's schema (derived from the mapping file) and its REST error shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from paybridge.adapters.salesforce.composite_collections import COMPOSITE_MAX_BYTES
from paybridge.adapters.salesforce.models import encode_json
from paybridge.mapping.salesforce_fields import RELATIONSHIP_TYPES, FieldType, SalesforceMapping

Result = tuple[int, Any]
# Composite: "up to 25 subrequests in a single call. Up to 5 of these subrequests can be
# sObject Collections or query operations" (resources-composite-composite-post); sObject
# Collections: 200 records. The request size is paybridge's own budget (no documented figure
# was confirmed), enforced here so that a packing bug cannot pass the tests.
COMPOSITE_LIMIT = 25
COMPOSITE_COLLECTIONS_LIMIT = 5
COLLECTIONS_LIMIT = 200
REQUEST_BYTES_LIMIT = COMPOSITE_MAX_BYTES
KEY_PREFIXES = {
    "Account": "001",
    "Case": "500",
    "Order": "801",
    "Payment": "0Xt",
    "PaymentAuthorization": "0Xc",
    "PaymentGatewayLog": "0Xg",
    "Refund": "0Xr",
    "RecordType": "012",
    "Group": "00G",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "ObjectPermissions": "110",
}
_DESCRIBE_TYPES = {
    FieldType.TEXT: "string",
    FieldType.LONG_TEXT: "textarea",
    FieldType.NUMBER: "double",
    FieldType.CURRENCY: "currency",
    FieldType.CHECKBOX: "boolean",
    FieldType.DATETIME: "datetime",
    FieldType.DATE: "date",
    FieldType.PICKLIST: "picklist",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    type: str
    external_id: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None


def error_body(code: str, message: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code, "fields": fields or []}]


def id_field_of(relationship: str) -> str:
    """`Payment__r` → `Payment__c`; `PaymentAuthorization` → `PaymentAuthorizationId`."""
    return relationship[:-3] + "__c" if relationship.endswith("__r") else relationship + "Id"


def schema_from_mapping(mapping: SalesforceMapping) -> dict[str, dict[str, FieldSpec]]:
    """The fields every mapped sObject has, with external IDs and relationships marked."""
    schema: dict[str, dict[str, FieldSpec]] = {}
    external: set[tuple[str, str]] = set()
    for profile in mapping.profiles.values():
        for record in profile.records.values():
            fields = schema.setdefault(record.sobject, {"Id": FieldSpec("id")})
            for name in record.constants:
                fields[name] = FieldSpec("picklist")
            if record.sobject == "Case":
                fields["RecordTypeId"] = FieldSpec("reference", reference_to="RecordType")
                fields["OwnerId"] = FieldSpec("reference", reference_to="Group")
            if record.key_field:
                external.add((record.sobject, record.key_field))
            for mapped in record.written_fields.values():
                if mapped.type in RELATIONSHIP_TYPES:
                    relationship = mapped.name if mapped.via_external_id else None
                    field_name = id_field_of(mapped.name) if relationship else mapped.name
                    fields[field_name] = FieldSpec(
                        "reference", reference_to=mapped.references, relationship_name=relationship
                    )
                    if mapped.references and mapped.via_external_id:
                        external.add((mapped.references, mapped.via_external_id))
                else:
                    fields[mapped.name] = FieldSpec(_DESCRIBE_TYPES[mapped.type])
    for sobject, name in external:
        schema.setdefault(sobject, {"Id": FieldSpec("id")})[name] = FieldSpec(
            "string", external_id=True
        )
    return schema


def json_response(status: int, payload: Any) -> Response:
    if payload is None:
        return Response(status_code=status)
    return Response(encode_json(payload), status_code=status, media_type="application/json")
