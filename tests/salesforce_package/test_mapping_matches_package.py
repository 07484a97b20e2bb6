"""paybridge's shipped Salesforce mapping (both profiles) ⇄ the package's objects and fields.

A rename on either side fails here: the mapping names a field the package lacks, or the package
ships a field the mapping no longer writes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paybridge.domain.status import PaymentStatus
from paybridge.mapping.salesforce_fields import SalesforceMapping, load_salesforce_mapping
from tests.salesforce_package.mapping_check import field_api_name, is_custom, mapping_problems
from tests.salesforce_package.package import APP, Package, load_package

COMMERCE_OBJECTS = frozenset({"PaymentAuthorization", "Payment", "Refund", "PaymentGatewayLog"})


@pytest.fixture(scope="module")
def mapping() -> SalesforceMapping:
    return load_salesforce_mapping()


@pytest.fixture(scope="module")
def package() -> Package:
    return load_package()


def test_every_mapped_object_and_field_is_in_the_package(
    mapping: SalesforceMapping, package: Package
) -> None:
    assert mapping_problems(mapping, package) == []


def test_both_profiles_are_checked(mapping: SalesforceMapping) -> None:
    assert set(mapping.profiles) == {"custom", "commerce"}


def test_the_package_ships_no_field_the_mapping_does_not_write(
    mapping: SalesforceMapping, package: Package
) -> None:
    """Objects paybridge writes carry exactly the custom fields one of the profiles names."""
    written: dict[str, set[str]] = {}
    for profile in mapping.profiles.values():
        for record in profile.records.values():
            names = {field_api_name(f) for f in record.written_fields.values()}
            written.setdefault(record.sobject, set()).update(n for n in names if is_custom(n))
    for sobject, names in written.items():
        shipped = {f.name for f in package.fields_of(sobject)}
        assert shipped == names, sobject


def test_a_renamed_mapping_field_is_reported(package: Package, tmp_path: Path) -> None:
    override = tmp_path / "mapping.yaml"
    override.write_text(
        "profiles: {custom: {records: {payment: {fields: {market: "
        "{name: Store__c, type: text, max_length: 64}}}}}}\n",
        encoding="utf-8",
    )
    problems = mapping_problems(load_salesforce_mapping(override), package)
    assert any("Store__c: not in the package" in p for p in problems), problems


def test_a_renamed_package_field_is_reported(mapping: SalesforceMapping, package: Package) -> None:
    problems = mapping_problems(mapping, package.without("CKO_Payment_Action__c", "Payment__c"))
    assert any("Payment__c: not in the package" in p for p in problems), problems


def test_an_incompatible_type_is_reported(package: Package, tmp_path: Path) -> None:
    override = tmp_path / "mapping.yaml"
    override.write_text(
        "profiles: {custom: {records: {payment: {fields: {disputed: "
        "{name: Disputed__c, type: datetime}}}}}}\n",
        encoding="utf-8",
    )
    problems = mapping_problems(load_salesforce_mapping(override), package)
    assert any("type Checkbox does not fit mapping type datetime" in p for p in problems)


def test_payment_status_picklist_holds_the_paybridge_vocabulary(package: Package) -> None:
    status = package.field("CKO_Payment__c", "Status__c")
    assert status is not None
    assert status.picklist_values == tuple(PaymentStatus)
    assert status.restricted


def test_commerce_fields_live_only_in_the_commerce_directory(package: Package) -> None:
    """force-app must deploy to orgs without Payments/OMS/Commerce licences; force-commerce
    holds only its own objects' fields: paybridge no longer writes the platform's objects."""
    for (sobject, _), field in package.fields.items():
        assert sobject not in COMMERCE_OBJECTS, field.qualified
        owner = package.custom_objects.get(sobject, APP)
        assert field.package_dir == owner, field.qualified
