"""Salesforce REST wire shapes (tolerant readers) and the builders of composite/collection bodies.

Bodies are encoded by `encode_json`, which writes Decimals as exact JSON numbers: Salesforce
currency fields take numbers, and money never passes through float here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class SalesforceErrorItem(_Wire):
    """One entry of an error array; collections results say `statusCode` for `errorCode`."""

    message: str = ""
    error_code: str = Field(default="UNKNOWN", alias="errorCode")
    fields: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _status_code_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "errorCode" not in data and "statusCode" in data:
            return {**data, "errorCode": data["statusCode"]}
        return data


class RecordResult(_Wire):
    """Result of one record write (upsert body, or one entry of a collections response)."""

    id: str | None = None
    success: bool = True
    errors: list[SalesforceErrorItem] = Field(default_factory=list)
    created: bool | None = None


UpsertResult = RecordResult


class CompositeSubrequest(_Wire):
    """One subrequest of `POST /composite`; `url` is the full `/services/data/vXX.X/...` path."""

    method: str
    url: str
    reference_id: str = Field(alias="referenceId")
    body: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "referenceId": self.reference_id,
        }
        if self.body is not None:
            wire["body"] = self.body
        return wire


class CompositeResult(_Wire):
    """One subrequest's outcome; the composite envelope itself is always HTTP 200."""

    reference_id: str = Field(alias="referenceId")
    http_status_code: int = Field(alias="httpStatusCode")
    body: Any = None
    http_headers: dict[str, str] = Field(default_factory=dict, alias="httpHeaders")

    @property
    def ok(self) -> bool:
        return 200 <= self.http_status_code < 300

    @property
    def errors(self) -> list[SalesforceErrorItem]:
        return [] if self.ok else parse_error_items(self.body)


class ApiVersion(_Wire):
    version: str
    url: str
    label: str = ""


class PicklistValue(_Wire):
    value: str
    active: bool = True


class DescribeField(_Wire):
    name: str
    type: str
    external_id: bool = Field(default=False, alias="externalId")
    nillable: bool = True
    restricted_picklist: bool = Field(default=False, alias="restrictedPicklist")
    picklist_values: list[PicklistValue] = Field(default_factory=list, alias="picklistValues")
    reference_to: list[str] = Field(default_factory=list, alias="referenceTo")
    relationship_name: str | None = Field(default=None, alias="relationshipName")


class SObjectDescribe(_Wire):
    name: str
    fields: list[DescribeField] = Field(default_factory=list)

    def field(self, name: str) -> DescribeField | None:
        return next((item for item in self.fields if item.name == name), None)


class ApiLimit(_Wire):
    max: int = Field(alias="Max")
    remaining: int = Field(alias="Remaining")


class RecordLike(Protocol):
    """What the builders need of a record (mapping's `SalesforceRecord` has this shape)."""

    @property
    def sobject(self) -> str: ...
    @property
    def key_kind(self) -> str: ...
    @property
    def key_field(self) -> str | None: ...
    @property
    def key_value(self) -> str: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...


def parse_error_items(body: Any) -> list[SalesforceErrorItem]:
    """Error items from a REST error array or an OAuth `{"error","error_description"}` body."""
    if isinstance(body, list):
        return [SalesforceErrorItem.model_validate(item) for item in body if isinstance(item, dict)]
    if isinstance(body, dict) and "error" in body:
        return [
            SalesforceErrorItem(
                error_code=str(body["error"]), message=str(body.get("error_description", ""))
            )
        ]
    return []


def record_path(record: RecordLike, *, api_version: str) -> str:
    """`/services/data/vXX.X/sobjects/{sobject}/{key_field}/{value}` or `.../{record id}`."""
    base = f"/services/data/v{api_version}/sobjects/{record.sobject}"
    value = quote(record.key_value, safe="")
    if record.key_kind == "external_id":
        if not record.key_field:
            raise ValueError(f"{record.sobject} record keyed by external ID has no key_field")
        return f"{base}/{record.key_field}/{value}"
    return f"{base}/{value}"


def record_subrequests(
    records: Sequence[RecordLike], *, api_version: str
) -> list[CompositeSubrequest]:
    """One PATCH subrequest per record, in order (parents before children)."""
    return [
        CompositeSubrequest(
            method="PATCH",
            url=record_path(record, api_version=api_version),
            reference_id=f"r{index}",
            body=dict(record.fields),
        )
        for index, record in enumerate(records)
    ]


def collection_record(record: RecordLike) -> dict[str, Any]:
    """The record as an sObject Collections upsert entry: type, external ID, fields."""
    if record.key_kind != "external_id" or not record.key_field:
        raise ValueError(f"{record.sobject}: collections upsert needs an external ID key")
    return {
        "attributes": {"type": record.sobject},
        **record.fields,
        record.key_field: record.key_value,
    }


def collection_update_record(record: RecordLike) -> dict[str, Any]:
    """The record as an sObject Collections update entry: type, record `id`, fields."""
    if record.key_kind != "record_id":
        raise ValueError(f"{record.sobject}: collections update needs a record Id key")
    return {"attributes": {"type": record.sobject}, "id": record.key_value, **record.fields}


def encode_json(value: Any) -> bytes:
    """Compact JSON with Decimals as exact numbers (`149.90`, never `149.9000000001`)."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    # Scalars go straight to the json module's own C string escaper and to the reprs it
    # uses: `json.dumps` builds an encoder per call, and a burst's bodies hold many values.
    if isinstance(value, str):
        return _escape(value)
    if value is None or isinstance(value, bool):
        return _CONSTANTS[value]
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("cannot encode a non-finite Decimal as JSON")
        return format(value, "f")
    if isinstance(value, Mapping):
        items = (f"{_escape_key(str(key))}:{_encode(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


_escape: Callable[[str], str] = json.encoder.encode_basestring
_escape_key: Callable[[str], str] = json.encoder.encode_basestring_ascii
_CONSTANTS = {None: "null", True: "true", False: "false"}
