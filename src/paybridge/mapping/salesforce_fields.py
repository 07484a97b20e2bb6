"""The Salesforce field-mapping file: its models, its vocabulary, and its validated loader.

The shipped defaults (`paybridge/defaults/salesforce_mapping.yaml`) name every sObject and field
API name paybridge writes; a customer's file is deep-merged over them and validated once at
start-up, with errors that name the file, profile, record and field.
"""

from __future__ import annotations

import re
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from paybridge.domain.status import ActionStatus, ActionType, PaymentStatus

DEFAULTS_PACKAGE = "paybridge.defaults"
DEFAULTS_FILE = "salesforce_mapping.yaml"

# An optional `ns__` namespace, letters/digits/single underscores, an optional `__c`/`__r` suffix.
_API_NAME = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9]*__)?[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?:__[a-z]{1,3})?$"
)


class SalesforceMappingError(ValueError):
    """The mapping file cannot be used; the message names file, profile, record and field."""


class FieldType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    CURRENCY = "currency"
    CHECKBOX = "checkbox"
    DATETIME = "datetime"
    DATE = "date"
    LOOKUP = "lookup"
    MASTER_DETAIL = "master_detail"
    PICKLIST = "picklist"


RELATIONSHIP_TYPES = frozenset({FieldType.LOOKUP, FieldType.MASTER_DETAIL})

KeyKind = Literal["external_id", "record_id"]

_PAYMENT_STATUSES = frozenset(PaymentStatus)
_ACTION_STATUSES = frozenset(ActionStatus)


# The logical fields each record of each profile knows how to fill (salesforce_records.py).
# A mapping may leave any of them out; it may not name others.
def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


RECORD_FIELDS: dict[str, dict[str, frozenset[str]]] = {
    "custom": {
        "payment": _names(
            "checkout_payment_id order_id account_id reference status currency amount "
            "authorized_amount captured_amount refunded_amount payment_method card_last4 "
            "response_code response_summary market disputed last_event_at version "
            "fees net_amount settlement_currency"
        ),
        "action": _names(
            "checkout_action_id payment type status amount response_code reference "
            "requested_at processed_at expires_at fees processing_fees scheme_fees interchange "
            "net_amount settlement_currency payout_id settled_on"
        ),
        "log": _names(
            "id payment level operation direction http_status duration_ms correlation_id "
            "cko_request_id cko_event_id cko_action_id error_code message occurred_at"
        ),
        "order": _names("checkout_payment_id status captured_amount refunded_amount"),
        "payment_link": _names("link_id order_id url status expires_at amount currency payment"),
        "dispute_case": _names(
            "dispute_id payment account_id subject case_status origin priority dispute_status "
            "category reason_code amount currency evidence_due_by payment_reference "
            "checkout_payment_id"
        ),
    },
    # Commerce Payments owns PaymentAuthorization, Payment, Refund and PaymentGatewayLog (the
    # gateway adapter in the package feeds them); paybridge writes what it writes in `custom`
    # beside them, without its own payment records to point at.
    "commerce": {
        "log": _names(
            "id level operation direction http_status duration_ms correlation_id "
            "cko_request_id cko_event_id cko_action_id error_code message occurred_at"
        ),
        "order": _names("checkout_payment_id status captured_amount refunded_amount"),
        "dispute_case": _names(
            "dispute_id account_id subject case_status origin priority dispute_status category "
            "reason_code amount currency evidence_due_by payment_reference checkout_payment_id"
        ),
    },
}

# Status maps each profile needs, with the source values each must cover (empty = free keys).
STATUS_MAPS: dict[str, dict[str, frozenset[str]]] = {
    "custom": {
        "payment": _PAYMENT_STATUSES,
        "action": _ACTION_STATUSES,
        "action_type": frozenset(ActionType),
        "direction": frozenset({"inbound", "outbound"}),
        "dispute": frozenset(),
        "payment_link": frozenset({"Active", "Paid", "Expired"}),
    },
    "commerce": {
        "payment": _PAYMENT_STATUSES,
        "direction": frozenset({"inbound", "outbound"}),
        "dispute": frozenset(),
    },
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldMapping(_Frozen):
    """One Salesforce field: API name, type, and for relationships the parent it points to."""

    name: str
    type: FieldType
    references: str | None = None
    via_external_id: str | None = None
    max_length: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_api_name(self.name, "name")
        is_relationship = self.type in RELATIONSHIP_TYPES
        if is_relationship and not self.references:
            raise ValueError(f"a {self.type} field needs `references` (the parent sObject)")
        if not is_relationship and (self.references or self.via_external_id):
            raise ValueError("`references`/`via_external_id` only apply to lookup/master_detail")
        if self.via_external_id:
            _check_api_name(self.via_external_id, "via_external_id")
            if self.name.endswith("__c") or self.name.endswith("Id"):
                raise ValueError(
                    f"{self.name!r} looks like an id field; with `via_external_id` use the "
                    "relationship name (e.g. Payment__r, Account)"
                )
        return self


class RecordMapping(_Frozen):
    """One kind of record paybridge writes: its sObject, upsert key and fields."""

    sobject: str
    key_kind: KeyKind
    key_field: str | None = None
    fields: dict[str, FieldMapping]
    constants: dict[str, str | int | bool] = Field(
        default_factory=dict, description="Fixed values written on every record (API name → value)."
    )
    metadata_fields: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,50}$")], FieldMapping] = (
        Field(
            default_factory=dict,
            description="Market reporting fields (the markets file's `metadata`, e.g. "
            "business_unit) → Salesforce fields, written on records of a payment.",
        )
    )
    record_type: str | None = None
    origin: str | None = None
    priority: str | None = None
    owner_queue: str | None = None

    @property
    def written_fields(self) -> dict[str, FieldMapping]:
        """Every field this mapping writes, by logical name (`metadata.<key>` for reporting
        fields)."""
        reporting = {f"metadata.{key}": mapped for key, mapped in self.metadata_fields.items()}
        return {**self.fields, **reporting}

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_api_name(self.sobject, "sobject")
        if self.key_kind == "external_id" and not self.key_field:
            raise ValueError("key_kind external_id needs `key_field`")
        if self.key_kind == "record_id" and self.key_field:
            raise ValueError("key_kind record_id takes no `key_field`")
        if self.key_field:
            _check_api_name(self.key_field, "key_field")
        seen: dict[str, str] = {}
        for logical, mapped in self.written_fields.items():
            if logical.startswith("metadata.") and mapped.type in RELATIONSHIP_TYPES:
                raise ValueError(f"{logical}: a reporting field cannot be a {mapped.type}")
            if mapped.name in seen:
                raise ValueError(
                    f"fields {seen[mapped.name]!r} and {logical!r} both map to {mapped.name!r}"
                )
            seen[mapped.name] = logical
        for name in self.constants:
            _check_api_name(name, "constants")
        return self

    def field_name(self, logical: str) -> str | None:
        """The API name of a logical field, or None when this mapping does not write it."""
        mapped = self.fields.get(logical)
        return mapped.name if mapped else None


ProfileKind = Literal["custom", "commerce"]


class ProfileMapping(_Frozen):
    """The records and status value maps of one profile (`custom` or `commerce`)."""

    kind: ProfileKind
    records: dict[str, RecordMapping]
    status_maps: dict[str, dict[str, str]] = Field(default_factory=dict)
    multi_currency: bool = Field(
        default=False,
        description="The org has multiple currencies: every record paybridge owns carries "
        "`CurrencyIsoCode` = the money's currency (`paybridge salesforce check` tells).",
    )

    def record(self, name: str) -> RecordMapping:
        try:
            return self.records[name]
        except KeyError:
            raise SalesforceMappingError(f"the profile has no record {name!r}") from None


class SalesforceMapping(_Frozen):
    """The whole mapping file after merging and validation."""

    version: Literal[1] = 1
    profiles: dict[str, ProfileMapping]

    @model_validator(mode="before")
    @classmethod
    def _name_profiles(cls, data: Any) -> Any:
        """A profile's kind is its key in the file (`custom` or `commerce`)."""
        if isinstance(data, dict) and isinstance(data.get("profiles"), dict):
            profiles = {
                name: {"kind": name, **body} if isinstance(body, dict) else body
                for name, body in data["profiles"].items()
            }
            return {**data, "profiles": profiles}
        return data

    def profile(self, name: str) -> ProfileMapping:
        try:
            return self.profiles[name]
        except KeyError:
            raise SalesforceMappingError(f"no Salesforce mapping profile {name!r}") from None


def load_salesforce_mapping(path: Path | None = None) -> SalesforceMapping:
    """Load the shipped defaults, deep-merge the file at `path` over them, and validate.

    Raises SalesforceMappingError naming the file, profile, record and field at fault.
    """
    defaults_text = resources.files(DEFAULTS_PACKAGE).joinpath(DEFAULTS_FILE).read_text("utf-8")
    document = _parse_yaml(defaults_text, source=f"{DEFAULTS_PACKAGE}/{DEFAULTS_FILE}")
    source = f"{DEFAULTS_PACKAGE}/{DEFAULTS_FILE}"
    if path is not None:
        source = str(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise SalesforceMappingError(f"{source}: cannot read ({exc.strerror})") from exc
        document = merge_mapping(document, _parse_yaml(text, source=source))
    try:
        mapping = SalesforceMapping.model_validate(document)
    except ValidationError as exc:
        described = "; ".join(_describe(err["loc"], err["msg"]) for err in exc.errors())
        raise SalesforceMappingError(f"{source}: {described}") from None
    problems = _check_vocabulary(mapping)
    if problems:
        raise SalesforceMappingError(f"{source}: " + "; ".join(problems))
    return mapping


def merge_mapping(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` over `base`; a field set to null inside `fields` is removed."""
    return _merge(base, override, parent="")


def _merge(base: dict[str, Any], override: dict[str, Any], *, parent: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if value is None and parent in ("fields", "metadata_fields"):
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, parent=str(key))
        else:
            merged[key] = value
    return merged


def _parse_yaml(text: str, *, source: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SalesforceMappingError(f"{source}: not valid YAML ({exc})") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SalesforceMappingError(f"{source}: the top level must be a mapping")
    return loaded


def _check_api_name(value: str, what: str) -> None:
    if not _API_NAME.match(value):
        raise ValueError(f"{what} {value!r} is not a Salesforce API name")


def _describe(loc: tuple[int | str, ...], message: str) -> str:
    """`('profiles','custom','records','payment','fields','amount','type')` → readable words."""
    parts = [str(item) for item in loc]
    words: list[str] = []
    labels = {"profiles": "profile", "records": "record", "fields": "field"}
    index = 0
    while index < len(parts):
        label = labels.get(parts[index])
        if label and index + 1 < len(parts):
            words.append(f"{label} {parts[index + 1]!r}")
            index += 2
        else:
            words.append(parts[index])
            index += 1
    return f"{', '.join(words)}: {message}" if words else message


def _check_vocabulary(mapping: SalesforceMapping) -> list[str]:
    problems: list[str] = []
    for profile_name, profile in mapping.profiles.items():
        known_records = RECORD_FIELDS.get(profile_name)
        if known_records is None:
            problems.append(f"profile {profile_name!r}: unknown profile (custom, commerce)")
            continue
        for record_name, record in profile.records.items():
            where = f"profile {profile_name!r}, record {record_name!r}"
            known_fields = known_records.get(record_name)
            if known_fields is None:
                problems.append(f"{where}: unknown record (known: {', '.join(known_records)})")
                continue
            problems.extend(
                f"{where}, field {logical!r}: unknown field"
                for logical in record.fields
                if logical not in known_fields
            )
        problems.extend(
            f"profile {profile_name!r}, record {missing!r}: missing"
            for missing in sorted(set(known_records) - set(profile.records))
        )
        for map_name, required in STATUS_MAPS[profile_name].items():
            values = profile.status_maps.get(map_name)
            if values is None:
                problems.append(f"profile {profile_name!r}, status map {map_name!r}: missing")
                continue
            uncovered = sorted(required - set(values))
            if uncovered:
                problems.append(
                    f"profile {profile_name!r}, status map {map_name!r}: no value for "
                    + ", ".join(repr(item) for item in uncovered)
                )
    return problems
