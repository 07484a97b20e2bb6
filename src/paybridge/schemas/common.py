"""Shared field types of the public API."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from paybridge.domain.money import MoneyError, parse_decimal


def _to_decimal(value: object) -> Decimal:
    try:
        return parse_decimal(value)
    except MoneyError as exc:
        # The money code (`invalid_amount`) becomes the error detail's code.
        raise PydanticCustomError(exc.code, exc.message) from exc


MajorAmount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "oneOf": [{"type": "number"}, {"type": "string", "pattern": r"^\d+(\.\d+)?$"}],
            "description": "Major units as Salesforce holds them (a JSON number or a decimal "
            "string); never parsed through a float.",
            "examples": [50.0, "50.00"],
        }
    ),
]

FlatMetadata = dict[str, str | int | bool]
