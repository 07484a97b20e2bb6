"""`openapi/salesforce-external-service.json` is what an admin registers as an External Service:
valid OpenAPI 3.0 and inside what Salesforce documents External Services to support.

Sources (Salesforce Help): "System Limits" (platform.external_services_schema_def_limits):
JSON schema ≤ 10,000,000 characters; ≤ 3,000 active operations and objects per org.
"Schema Definitions" (platform.external_services_schema_def_definition): OpenAPI 2.0 or 3.0;
GET/PATCH/PUT/POST/DELETE; a GET with a request body is an error; every parameter named;
response headers unsupported; unions only with a discriminator (its mapping ignored).
"Naming and Description Conventions" (platform.external_services_schema_def_naming_description):
names become Apex identifiers; descriptions beyond 1,333 characters are truncated."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator

from paybridge.api.salesforce_openapi import SALESFORCE_OPERATIONS, salesforce_external_service

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "salesforce-external-service.json"
MAX_SCHEMA_CHARACTERS = 10_000_000
MAX_ACTIVE_OPERATIONS = 3_000
MAX_DESCRIPTION = 1_333
METHODS = {"get", "patch", "put", "post", "delete"}
# Apex identifiers: a letter first, then letters, digits and single underscores, no trailing _.
APEX_IDENTIFIER = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
UNSUPPORTED_KEYWORDS = {"anyOf", "oneOf", "not", "const", "$defs", "prefixItems"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}/{key}", value
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def test_it_is_valid_openapi_3_0(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.0.")
    OpenAPIV30SpecValidator(document).validate()


# Issue 21: "payments, lifecycle, payment links, disputes". The evidence file upload stays out:
# External Services does not document multipart request bodies (Apex: uploadDisputeFile).
ADMIN_OPERATIONS = {
    "payments": {"createPayment", "getPayment", "listPayments"},
    "lifecycle": {"capturePayment", "voidPayment", "refundPayment"},
    "payment links": {"createPaymentLink", "getPaymentLink", "listPaymentLinks"},
    "disputes": {"getDispute", "listDisputes", "acceptDispute", "saveDisputeEvidence",
                 "submitDisputeEvidence"},
}  # fmt: skip


def test_it_offers_the_operations_an_admin_needs(document: dict[str, Any]) -> None:
    by_tag: dict[str, set[str]] = {}
    for item in document["paths"].values():
        for op in item.values():
            (tag,) = op["tags"]
            by_tag.setdefault(tag, set()).add(op["operationId"])
    assert by_tag == ADMIN_OPERATIONS
    ids = sorted(op_id for ops in by_tag.values() for op_id in ops)
    assert ids == sorted(SALESFORCE_OPERATIONS)
    assert len(ids) == 14
    assert len(ids) <= MAX_ACTIVE_OPERATIONS


def test_it_stays_inside_the_documented_limits(document: dict[str, Any]) -> None:
    assert len(DOCUMENT.read_text(encoding="utf-8")) <= MAX_SCHEMA_CHARACTERS
    assert len(document["components"]["schemas"]) <= MAX_ACTIVE_OPERATIONS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert method in METHODS, path
            assert APEX_IDENTIFIER.match(operation["operationId"]), path
            assert len(operation["description"]) <= MAX_DESCRIPTION, path
            if method == "get":
                assert "requestBody" not in operation, path
            for parameter in operation.get("parameters", []):
                assert parameter["name"], path
                assert len(parameter.get("description", "")) <= MAX_DESCRIPTION, path
            for response in operation["responses"].values():
                assert "headers" not in response, path


def test_it_uses_only_constructs_external_services_reads(document: dict[str, Any]) -> None:
    for where, value in _walk(document):
        key = where.rsplit("/", 1)[1]
        assert key not in UNSUPPORTED_KEYWORDS, where
        if key == "examples":  # 3.0 has a media type's named examples, not JSON Schema's list
            assert isinstance(value, dict), where
        if key == "type":
            assert isinstance(value, str) or where.endswith("/properties/type"), where
    for name, schema in document["components"]["schemas"].items():
        assert APEX_IDENTIFIER.match(name), name
        for prop in schema.get("properties", {}):
            assert APEX_IDENTIFIER.match(prop), (name, prop)


def test_unions_become_one_object_or_one_primitive() -> None:
    spec = {
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "/"}],
        "tags": [],
        "paths": {
            "/x": {
                "post": {
                    "operationId": "createPayment",
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/B"}}
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "components": {
            "schemas": {
                "B": {
                    "type": "object",
                    "properties": {
                        "amount": {
                            "anyOf": [
                                {"oneOf": [{"type": "number"}, {"type": "string"}]},
                                {"type": "null"},
                            ],
                            "default": None,
                        },
                        "method": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/T"},
                                {"$ref": "#/components/schemas/I"},
                            ],
                            "discriminator": {"propertyName": "type"},
                        },
                    },
                },
                "T": {
                    "type": "object",
                    "properties": {"type": {"const": "token"}, "token": {"type": "string"}},
                    "required": ["type", "token"],
                },
                "I": {
                    "type": "object",
                    "properties": {"type": {"const": "ideal"}, "bic": {"type": "string"}},
                    "required": ["type"],
                },
            }
        },
    }
    rendered = salesforce_external_service(spec)
    body = rendered["components"]["schemas"]["B"]["properties"]
    assert body["amount"] == {"type": "string", "nullable": True}
    assert body["method"] == {
        "type": "object",
        "properties": {
            "type": {"enum": ["token", "ideal"]},
            "token": {"type": "string"},
            "bic": {"type": "string"},
        },
        "required": ["type"],
    }
    assert set(rendered["components"]["schemas"]) == {"B"}


def test_the_package_registers_it_on_the_package_named_credential(
    document: dict[str, Any],
) -> None:
    """Metadata API `ExternalServiceRegistration`: label and status required; `schema` is the
    document itself; `namedCredential` names a Named Credential the package ships."""
    package = DOCUMENT.parents[1] / "salesforce" / "force-app" / "main" / "default"
    registration = package / "externalServiceRegistrations"
    root = ElementTree.parse(registration / "Paybridge.externalServiceRegistration-meta.xml")
    ns = {"m": "http://soap.sforce.com/2006/04/metadata"}
    credential = root.findtext("m:namedCredential", namespaces=ns)
    assert (package / "namedCredentials" / f"{credential}.namedCredential-meta.xml").exists()
    assert root.findtext("m:label", namespaces=ns)
    assert root.findtext("m:status", namespaces=ns) == "complete"
    assert json.loads(root.findtext("m:schema", default="", namespaces=ns)) == document
    active = {
        op.findtext("m:name", namespaces=ns)
        for op in root.findall("m:operations", ns)
        if op.findtext("m:active", namespaces=ns) == "true"
    }
    assert active == set(SALESFORCE_OPERATIONS)
