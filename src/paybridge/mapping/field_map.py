"""Which Salesforce fields feed which request fields: data, overridable per org.

Each entry lists candidate API names; the first one present with a value wins (standard
Orders have `BillingCountryCode` only with state/country picklists, `BillingCountry` always;
person accounts carry `PersonEmail`).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class OrderFieldMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: list[str] = Field(default_factory=lambda: ["Id"])
    order_number: list[str] = Field(default_factory=lambda: ["OrderNumber"])
    account_id: list[str] = Field(default_factory=lambda: ["AccountId"])
    total_amount: list[str] = Field(default_factory=lambda: ["TotalAmount"])
    currency: list[str] = Field(default_factory=lambda: ["CurrencyIsoCode"])
    billing_street: list[str] = Field(default_factory=lambda: ["BillingStreet"])
    billing_city: list[str] = Field(default_factory=lambda: ["BillingCity"])
    billing_postal_code: list[str] = Field(default_factory=lambda: ["BillingPostalCode"])
    billing_state: list[str] = Field(default_factory=lambda: ["BillingStateCode", "BillingState"])
    billing_country: list[str] = Field(
        default_factory=lambda: ["BillingCountryCode", "BillingCountry"]
    )


class CustomerFieldMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contact_id: list[str] = Field(default_factory=lambda: ["Id"])
    email: list[str] = Field(default_factory=lambda: ["Email", "PersonEmail"])
    first_name: list[str] = Field(default_factory=lambda: ["FirstName"])
    last_name: list[str] = Field(default_factory=lambda: ["LastName"])
    name: list[str] = Field(default_factory=lambda: ["Name"])


class FieldMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order: OrderFieldMap = Field(default_factory=OrderFieldMap)
    customer: CustomerFieldMap = Field(default_factory=CustomerFieldMap)

    @property
    def money_paths(self) -> list[str]:
        """Dotted paths of a request body that hold amounts: idempotency fingerprints compare
        them as money, so Apex sending `149.9` or `"149.90"` is the same request."""
        return [f"order.{name}" for name in self.order.total_amount]


class FieldMapError(ValueError):
    pass


def load_field_map(path: Path | None) -> FieldMap:
    """The shipped defaults, or the defaults overridden by the entries of a YAML file."""
    if path is None:
        return FieldMap()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return FieldMap.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise FieldMapError(f"{path}: cannot read field map: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise FieldMapError(f"{path}: invalid field map: {problems}") from exc
