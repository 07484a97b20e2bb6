"""The OpenAPI 3.0 rendering Salesforce External Services registers (it takes 2.0 and 3.0,
not 3.1): the operations an admin needs, in the schema constructs it documents.

Salesforce Help, "Schema Definitions" (platform.external_services_schema_def_definition):
security and tag objects are ignored (the Named Credential authenticates); a GET must not
have a request body; response headers are not supported; allOf/oneOf/anyOf only with a
discriminator whose `mapping` is ignored — so unions here become one object or one
primitive. "System Limits" (platform.external_services_schema_def_limits): JSON schema
≤ 10,000,000 characters, ≤ 3,000 active operations and objects per org. "Naming and
Description Conventions": names must be Apex identifiers, descriptions past 1,333 characters
are cut."""

from __future__ import annotations

import copy
import json
from typing import Any
from xml.sax.saxutils import escape

SALESFORCE_OPERATIONS = (
    "createPayment",
    "getPayment",
    "listPayments",
    "capturePayment",
    "voidPayment",
    "refundPayment",
    "createPaymentLink",
    "getPaymentLink",
    "listPaymentLinks",
    "getDispute",
    "listDisputes",
    "acceptDispute",
    "saveDisputeEvidence",
    "submitDisputeEvidence",
)

_REF_PREFIX = "#/components/schemas/"
# Headers only the package's Apex sends (the gateway adapter's origin): not for Flow builders.
_APEX_ONLY_HEADERS = frozenset({"Paybridge-Origin"})


def salesforce_external_service(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` (our OpenAPI 3.1 document) cut to `SALESFORCE_OPERATIONS` and rewritten in 3.0."""
    schemas = spec["components"]["schemas"]
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if operation.get("operationId") in SALESFORCE_OPERATIONS:
                kept = {k: v for k, v in operation.items() if k != "security"}
                if "parameters" in kept:
                    kept["parameters"] = [
                        p for p in kept["parameters"] if p.get("name") not in _APEX_ONLY_HEADERS
                    ]
                paths.setdefault(path, {})[method] = _to_30(kept, schemas)
    used = _referenced(paths, schemas)
    return {
        "openapi": "3.0.3",
        "info": {
            **spec["info"],
            "title": "paybridge for Salesforce External Services",
            "description": "Payments, lifecycle actions, payment links and disputes as Flow "
            "actions. The "
            "package's Named Credential supplies the base URL and the X-API-Key header.",
        },
        "servers": spec["servers"],
        "tags": [t for t in spec["tags"] if t["name"] in _used_tags(paths)],
        "paths": paths,
        "components": {"schemas": {n: _to_30(schemas[n], schemas) for n in sorted(used)}},
    }


def _to_30(node: Any, schemas: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_to_30(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    for union in ("anyOf", "oneOf"):
        if union in node:
            merged = _collapse(node.pop(union), schemas)
            node.pop("discriminator", None)
            node = {**merged, **{k: v for k, v in node.items() if k not in merged}}
    if "$ref" in node:  # 3.0 ignores a $ref's siblings
        return {"$ref": node["$ref"]}
    if "const" in node:
        node["enum"] = [node.pop("const")]
    # Examples were written for the exact schemas in openapi.json, not the flattened ones
    # (an amount example is a number where this rendering takes a decimal string).
    node.pop("example", None)
    node.pop("examples", None)
    if "default" in node and node["default"] is None:
        del node["default"]  # leaving the field out is what sends null
        node["nullable"] = True
    return {key: _to_30(value, schemas) for key, value in node.items()}


def _collapse(options: list[dict[str, Any]], schemas: dict[str, Any]) -> dict[str, Any]:
    """One schema for a union: `X | null` is X, number-or-string is the string (the service
    reads decimal strings exactly), a union of objects is one object with every property."""
    options = [o for o in options if o.get("type") != "null"]
    if len(options) == 1:
        return copy.deepcopy(options[0])
    resolved = [_to_30(_resolve(o, schemas), schemas) for o in options]
    strings = [o for o in resolved if o.get("type") == "string"]
    if all("properties" not in o for o in resolved) and strings:
        return copy.deepcopy(strings[0])
    properties: dict[str, Any] = {}
    for option in resolved:
        for name, prop in option.get("properties", {}).items():
            if "const" in prop:
                enum = properties.get(name, {}).get("enum", [])
                properties[name] = {**prop, "enum": [*enum, prop["const"]]}
                properties[name].pop("const")
            elif name in properties and "enum" in prop and "enum" in properties[name]:
                enum = properties[name]["enum"]
                properties[name]["enum"] = [*enum, *(v for v in prop["enum"] if v not in enum)]
            else:
                properties.setdefault(name, copy.deepcopy(prop))
    required = set.intersection(*(set(o.get("required", [])) for o in resolved))
    merged: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        merged["required"] = sorted(required)
    return merged


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        resolved: dict[str, Any] = schemas[ref.removeprefix(_REF_PREFIX)]
        return resolved
    return schema


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    pending = [paths]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                name = ref.removeprefix(_REF_PREFIX)
                if name not in found:
                    found.add(name)
                    pending.append(_to_30(schemas[name], schemas))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _used_tags(paths: dict[str, Any]) -> set[str]:
    return {tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])}


def external_service_registration(document: dict[str, Any]) -> str:
    """The package's `ExternalServiceRegistration` (Metadata API: label, namedCredential,
    registrationProviderType, schema, status, operations) for `document`, on the package's
    `Paybridge` Named Credential, every operation active as a Flow action."""
    operations = "".join(
        "    <operations>\n"
        "        <active>true</active>\n"
        f"        <name>{op['operationId']}</name>\n"
        "    </operations>\n"
        for item in document["paths"].values()
        for op in item.values()
    )
    schema = escape(json.dumps(document, sort_keys=True, separators=(",", ":")))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ExternalServiceRegistration xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        "    <description>paybridge payments, lifecycle actions, payment links and disputes as "
        "Flow actions "
        "(generated by `paybridge openapi`; do not edit).</description>\n"
        "    <label>paybridge</label>\n"
        "    <namedCredential>Paybridge</namedCredential>\n"
        f"{operations}"
        "    <registrationProviderType>Custom</registrationProviderType>\n"
        f"    <schema>{schema}</schema>\n"
        "    <status>complete</status>\n"
        "</ExternalServiceRegistration>\n"
    )
