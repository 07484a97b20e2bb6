"""Salesforce Order/Contact records → a validated, typed order context (pure).

Every failing field is reported at once, named by the Salesforce field it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email

from paybridge.domain.countries import is_country_code
from paybridge.domain.money import MoneyError, is_known_currency, parse_decimal, to_minor
from paybridge.domain.salesforce_ids import is_salesforce_id
from paybridge.errors import ErrorDetail, ValidationFailed
from paybridge.mapping.field_map import FieldMap

# Checkout.com request limits (SPEC23 Address, PaymentRequest, CustomerRequest).
MAX_REFERENCE = 50
MAX_ADDRESS_LINE = 200
MAX_CITY = 50
MAX_ZIP = 50
MAX_STATE = 2
MAX_EMAIL = 255
MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class BillingAddress:
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    zip: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class OrderContext:
    order_id: str
    order_number: str
    account_id: str | None
    contact_id: str | None
    amount_minor: int
    currency: str
    billing: BillingAddress | None
    email: str | None
    name: str | None


class _Collector:
    def __init__(self) -> None:
        self.details: list[ErrorDetail] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.details.append(ErrorDetail(field=field, code=code, message=message))


def _pick(record: dict[str, Any], names: list[str]) -> tuple[str, Any]:
    """First candidate field with a non-empty value, else the first name and None."""
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return name, value
    return names[0], None


def _text(
    record: dict[str, Any],
    names: list[str],
    *,
    prefix: str,
    errors: _Collector,
    max_length: int,
    required: bool = False,
) -> str | None:
    name, value = _pick(record, names)
    field = f"{prefix}.{name}"
    if value is None:
        if required:
            errors.add(field, "missing", f"{name} is required")
        return None
    if not isinstance(value, str):
        errors.add(field, "invalid_type", f"{name} must be text")
        return None
    value = value.strip()
    if len(value) > max_length:
        errors.add(field, "too_long", f"{name} is longer than {max_length} characters")
        return None
    return value or None


def _salesforce_id(
    record: dict[str, Any], names: list[str], *, prefix: str, errors: _Collector, required: bool
) -> str | None:
    name, _ = _pick(record, names)
    value = _text(record, names, prefix=prefix, errors=errors, max_length=18, required=required)
    if value is not None and not is_salesforce_id(value):
        errors.add(f"{prefix}.{name}", "invalid_salesforce_id", f"{name} is not a Salesforce id")
        return None
    return value


def _split_street(street: str | None) -> tuple[str | None, str | None]:
    if street is None:
        return None, None
    lines = [line.strip() for line in street.replace("\r", "").split("\n") if line.strip()]
    if not lines:
        return None, None
    return lines[0], ", ".join(lines[1:]) or None


def _billing(order: dict[str, Any], fmap: FieldMap, errors: _Collector) -> BillingAddress | None:
    names = fmap.order
    street = _text(
        order, names.billing_street, prefix="order", errors=errors, max_length=2 * MAX_ADDRESS_LINE
    )
    line1, line2 = _split_street(street)
    street_field = f"order.{_pick(order, names.billing_street)[0]}"
    for line in (line1, line2):
        if line is not None and len(line) > MAX_ADDRESS_LINE:
            errors.add(
                street_field, "too_long", f"an address line exceeds {MAX_ADDRESS_LINE} characters"
            )
    city = _text(order, names.billing_city, prefix="order", errors=errors, max_length=MAX_CITY)
    zip_code = _text(
        order, names.billing_postal_code, prefix="order", errors=errors, max_length=MAX_ZIP
    )
    state = _text(order, names.billing_state, prefix="order", errors=errors, max_length=255)
    if state is not None and not (len(state) <= MAX_STATE and state.isalnum()):
        # Checkout.com takes an ISO 3166-2 subdivision code of up to two characters; a
        # spelled-out state ("California") is left out rather than refusing the payment.
        state = None
    country_name, _ = _pick(order, names.billing_country)
    country = _text(order, names.billing_country, prefix="order", errors=errors, max_length=64)
    if country is not None:
        country = country.upper()
        if not is_country_code(country):
            errors.add(
                f"order.{country_name}",
                "invalid_country",
                f"{country_name} must be an ISO 3166-1 alpha-2 code",
            )
            country = None
    if not any((line1, city, zip_code, state, country)):
        return None
    return BillingAddress(line1, line2, city, state, zip_code, country)


def _amount(order: dict[str, Any], fmap: FieldMap, currency: str | None, errors: _Collector) -> int:
    name, raw = _pick(order, fmap.order.total_amount)
    field = f"order.{name}"
    if raw is None:
        errors.add(field, "missing", f"{name} is required")
        return 0
    try:
        amount: Decimal = parse_decimal(raw)
        if currency is None:
            return 0
        return to_minor(amount, currency)
    except MoneyError as exc:
        errors.add(field, exc.code, exc.message)
        return 0


def _customer(
    customer: dict[str, Any] | None, fmap: FieldMap, errors: _Collector
) -> tuple[str | None, str | None, str | None]:
    if customer is None:
        return None, None, None
    names = fmap.customer
    contact_id = _salesforce_id(
        customer, names.contact_id, prefix="customer", errors=errors, required=False
    )
    email_field = f"customer.{_pick(customer, names.email)[0]}"
    email = _text(customer, names.email, prefix="customer", errors=errors, max_length=MAX_EMAIL)
    if email is not None:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors.add(email_field, "invalid_email", str(exc))
            email = None
    first = _text(customer, names.first_name, prefix="customer", errors=errors, max_length=MAX_NAME)
    last = _text(customer, names.last_name, prefix="customer", errors=errors, max_length=MAX_NAME)
    full = _text(customer, names.name, prefix="customer", errors=errors, max_length=MAX_NAME)
    name = " ".join(part for part in (first, last) if part) or full
    if name is not None and len(name) > MAX_NAME:
        name = name[:MAX_NAME]
    return contact_id, email, name


def to_order_context(
    order: dict[str, Any], customer: dict[str, Any] | None, fmap: FieldMap
) -> OrderContext:
    """Validate and extract what a payment needs; raises ValidationFailed naming each field."""
    errors = _Collector()
    names = fmap.order
    order_id = _salesforce_id(order, names.order_id, prefix="order", errors=errors, required=True)
    order_number = _text(
        order,
        names.order_number,
        prefix="order",
        errors=errors,
        max_length=MAX_REFERENCE,
        required=True,
    )
    account_id = _salesforce_id(
        order, names.account_id, prefix="order", errors=errors, required=False
    )
    currency_name, _ = _pick(order, names.currency)
    currency = _text(
        order, names.currency, prefix="order", errors=errors, max_length=3, required=True
    )
    if currency is not None and not is_known_currency(currency.upper()):
        errors.add(
            f"order.{currency_name}", "invalid_currency", f"{currency!r} is not an ISO 4217 code"
        )
        currency = None
    currency = currency.upper() if currency else None
    amount_minor = _amount(order, fmap, currency, errors)
    billing = _billing(order, fmap, errors)
    contact_id, email, name = _customer(customer, fmap, errors)

    if errors.details:
        raise ValidationFailed(
            "The order could not be mapped to a payment.",
            code="validation_failed",
            details=errors.details,
        )
    assert order_id is not None
    assert order_number is not None
    assert currency is not None
    return OrderContext(
        order_id=order_id,
        order_number=order_number,
        account_id=account_id,
        contact_id=contact_id,
        amount_minor=amount_minor,
        currency=currency,
        billing=billing,
        email=email,
        name=name,
    )
