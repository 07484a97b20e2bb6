"""Validate JSON bodies against Checkout.com's published OpenAPI spec (NAS, 2023 snapshot).

Shared test helper: `validate_against_spec(body, "PaymentRequest")` raises `SpecValidationError`
(an `AssertionError`) naming every violation. `$ref`s resolve against the whole spec document,
and `discriminator` mappings are followed, so `source.type == "token"` is checked against
`01_PaymentRequestTokenSource`. The spec is carried in
`tests/reference/` (its source and date in the README there).

The 2023 bundle has a few authoring slips that no real body could satisfy; they are repaired
on load, in `_repair`, and nowhere else.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = REPO_ROOT / "tests" / "reference" / "checkout" / "openapi" / "nas-openapi.json"
SPEC_URI = "urn:paybridge:checkout:nas-openapi"

_OAS_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
_TYPE_REPAIRS = {"datetime": "string", "long": "integer"}


class SpecValidationError(AssertionError):
    """`instance` does not satisfy the named spec schema; `problems` lists each violation."""

    def __init__(self, schema_name: str, problems: list[str]) -> None:
        self.schema_name = schema_name
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"body does not match Checkout.com schema {schema_name!r}:\n{listing}")


def _repair(node: Any) -> Any:
    """Fix the spec's slips: `required: [enabled, null]` (3dsRequest), `type: datetime|long`,
    Klarna's `required: [address]` beside a declared `billing_address`, an array's `enum`
    written beside `type: array` instead of in `items` (Payment Links'
    `allow_payment_methods`)."""
    if isinstance(node, list):
        return [_repair(item) for item in node]
    if not isinstance(node, dict):
        return node
    repaired = {key: _repair(value) for key, value in node.items()}
    required = repaired.get("required")
    if isinstance(required, list):
        repaired["required"] = [name for name in required if isinstance(name, str)]
        # Klarna's `account_holder` requires `address` but declares only `billing_address`
        # (the field Checkout.com's SDKs send): require the declared one.
        declared_names = repaired.get("properties") or {}
        repaired["required"] = [
            f"billing_{name}"
            if name not in declared_names and f"billing_{name}" in declared_names
            else name
            for name in repaired["required"]
        ]
    declared = repaired.get("type")
    if declared == "array" and "enum" in repaired and "items" not in repaired:
        repaired["items"] = {"type": "string", "enum": repaired.pop("enum")}
    if isinstance(declared, str) and declared not in _OAS_TYPES:
        if declared in _TYPE_REPAIRS:
            repaired["type"] = _TYPE_REPAIRS[declared]
        else:
            del repaired["type"]
    return repaired


@functools.cache
def load_spec() -> dict[str, Any]:
    """The repaired spec document (read once per test run)."""
    if not SPEC_PATH.is_file():
        pytest.fail(
            f"Checkout.com OpenAPI spec not found at {SPEC_PATH}: it is part of the repository "
            "(tests/reference/README.md)",
            pytrace=False,
        )
    document = _repair(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
    assert isinstance(document, dict)
    return document


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(load_spec(), default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


# Instances currently being checked against a discriminator target: the targets include their
# base schema through `allOf`, and the base holds the discriminator, so without this guard the
# check would recurse forever. Validation is synchronous, so a plain set is enough.
_FOLLOWING: set[tuple[int, str]] = set()


def _discriminator(
    validator: Any, discriminator: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object") or not isinstance(discriminator, dict):
        return
    property_name = discriminator.get("propertyName")
    mapping = discriminator.get("mapping") or {}
    value = instance.get(property_name)
    if not isinstance(value, str) or not mapping:
        return  # `required`/`type` report a missing or mistyped property
    target = mapping.get(value)
    if target is None:
        known = ", ".join(sorted(mapping))
        yield ValidationError(f"{property_name}={value!r} is not one of the mapped values: {known}")
        return
    key = (id(instance), target)
    if key in _FOLLOWING:
        return
    _FOLLOWING.add(key)
    try:
        yield from validator.descend(instance, {"$ref": target})
    finally:
        _FOLLOWING.discard(key)


_SpecValidator = extend(OAS30Validator, validators={"discriminator": _discriminator})


def _describe(error: ValidationError) -> list[str]:
    lines = [f"{error.json_path}: {error.message}"]
    for sub in sorted(error.context or [], key=lambda e: str(e.json_path)):
        lines.append(
            f"    (branch {list(sub.relative_schema_path)[:1]}) {sub.json_path}: {sub.message}"
        )
    return lines


def validate_against_spec(instance: object, schema_name: str) -> None:
    """Raise `SpecValidationError` unless `instance` satisfies `components.schemas[schema_name]`.

    Formats the spec declares (`email`, `ipv4`, `date-time`…) are checked where jsonschema can.
    """
    schemas = load_spec()["components"]["schemas"]
    if schema_name not in schemas:
        close = difflib.get_close_matches(schema_name, schemas, n=5)
        raise KeyError(f"no schema {schema_name!r} in the Checkout.com spec; close: {close}")
    pointer = schema_name.replace("~", "~0").replace("/", "~1")
    validator = _SpecValidator(
        {"$ref": f"{SPEC_URI}#/components/schemas/{pointer}"},
        registry=_registry(),
        format_checker=oas30_format_checker,
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: str(e.json_path))
    if errors:
        raise SpecValidationError(schema_name, [line for e in errors for line in _describe(e)])
