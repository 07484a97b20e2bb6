"""`paybridge salesforce check` against the Salesforce simulator."""

from __future__ import annotations

import json
from pathlib import Path

from paybridge.adapters.salesforce.models import SObjectDescribe
from paybridge.cli import salesforce_check
from tests.conftest import make_settings
from tests.salesforce_env import salesforce_values
from tests.simulators.salesforce import FieldSpec, SalesforceSimulator

RESTFORCE = Path(__file__).parent / "reference" / "salesforce" / "restforce"


async def run(sim: SalesforceSimulator, **salesforce: object) -> tuple[int, list[str]]:
    lines: list[str] = []
    settings = make_settings("sqlite+aiosqlite://", salesforce=salesforce_values(sim, **salesforce))
    code = await salesforce_check(settings, transport=sim.transport(), echo=lines.append)
    return code, lines


async def test_a_ready_org_passes_for_both_profiles() -> None:
    sim = SalesforceSimulator()
    for profile in ("custom", "commerce"):
        code, lines = await run(sim, profile=profile)

        assert code == 0, lines
        assert lines[-1] == "OK"
    assert sim.token_calls == 2


async def test_missing_fields_and_non_external_keys_are_reported() -> None:
    sim = SalesforceSimulator()
    del sim.schema["CKO_Payment__c"]["Market__c"]
    sim.schema["CKO_Payment_Action__c"]["CKO_Action_Id__c"] = FieldSpec("string")
    del sim.schema["CKO_Integration_Log__c"]
    sim.records["RecordType"].clear()  # the package's Case record type is not deployed

    code, lines = await run(sim)

    assert code == 1
    problems = [line for line in lines if line.startswith("problem:")]
    assert any("field 'market': Market__c is missing" in line for line in problems)
    assert any("CKO_Action_Id__c is not an external ID" in line for line in problems)
    assert any("CKO_Integration_Log__c: cannot describe (NOT_FOUND)" in line for line in problems)
    assert any(
        "`dispute_case.record_type: Payment_Dispute` names nothing" in line for line in problems
    )
    assert lines[-1] == f"{len(problems)} problem(s)"


async def test_an_unserved_api_version_and_bad_credentials_fail() -> None:
    sim = SalesforceSimulator()

    code, lines = await run(sim, api_version="99.0")
    assert code == 1
    assert any("API version 99.0 is not served" in line for line in lines)

    code, lines = await run(sim, client_secret="wrong")
    assert code == 1
    assert any("authentication failed" in line for line in lines)


# --- currencies ------------------------------------------------------------------------------


def _mapping_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


async def test_a_multi_currency_org_needs_a_mapping_that_writes_currency_iso_code(
    tmp_path: Path,
) -> None:
    sim = SalesforceSimulator()
    sim.multi_currency("EUR", "GBP", "USD")

    code, lines = await run(sim)

    assert code == 1
    assert any(
        "multiple currencies (CurrencyIsoCode on CKO_Integration_Log__c, CKO_Payment_Action__c"
        in line
        and "set profiles.custom.multi_currency: true" in line
        for line in lines
    ), lines

    mapping = _mapping_file(tmp_path, "profiles: {custom: {multi_currency: true}}")
    code, lines = await run(sim, mapping_file=str(mapping))

    assert code == 0, lines
    assert "  multi-currency: writes CurrencyIsoCode (active: EUR, GBP, USD)" in lines


async def test_a_single_currency_org_refuses_currency_iso_code(tmp_path: Path) -> None:
    sim = SalesforceSimulator()

    code, lines = await run(sim)
    assert code == 0, lines
    assert "  single currency (no CurrencyIsoCode): paybridge does not write it" in lines

    mapping = _mapping_file(tmp_path, "profiles: {custom: {multi_currency: true}}")
    code, lines = await run(sim, mapping_file=str(mapping))
    assert code == 1
    assert any("multi_currency is true but no object paybridge writes" in line for line in lines)


def test_currency_iso_code_is_read_from_a_describe_of_salesforce_s_shape() -> None:
    """The vendored describe body (restforce) with CurrencyIsoCode added as the Object
    Reference documents it: a restricted picklist of the org's currencies, defaulted on create."""
    describe = json.loads((RESTFORCE / "sobject_describe_success_response.json").read_text())
    (template,) = [item for item in describe["fields"] if item["name"] == "Picklist_Field"]
    values = [
        {**template["picklistValues"][0], "value": code, "label": code, "active": active}
        for code, active in (("EUR", True), ("USD", True), ("DEM", False))
    ]
    currency = {
        **template,
        "name": "CurrencyIsoCode",
        "label": "Currency ISO Code",
        "restrictedPicklist": True,
        "defaultedOnCreate": True,
        "picklistValues": values,
    }
    described = SObjectDescribe.model_validate(
        {**describe, "fields": [*describe["fields"], currency]}
    )

    field = described.field("CurrencyIsoCode")
    assert field is not None
    assert field.restricted_picklist
    assert [value.value for value in field.picklist_values if value.active] == ["EUR", "USD"]


# --- record access ---------------------------------------------------------------------------


async def test_the_integration_user_must_see_every_record_it_writes() -> None:
    sim = SalesforceSimulator()
    code, lines = await run(sim)
    assert code == 0, lines
    assert any(
        line.startswith("  View All + Modify All on CKO_Integration_Log__c") for line in lines
    )

    case_grant = sim.find("ObjectPermissions", "SobjectType", "Case")[0]
    case_grant["PermissionsModifyAllRecords"] = False

    code, lines = await run(sim)

    assert code == 1
    problems = [line for line in lines if line.startswith("problem:")]
    assert problems == [
        "problem: Case: the integration user lacks View All and Modify All; records it does not "
        "own (a queue's Case) turn invisible and their next upsert fails DUPLICATE_VALUE "
        "(Paybridge_Integration grants them on the CKO objects, Case and Order)"
    ]


async def test_view_all_data_and_modify_all_data_are_enough() -> None:
    sim = SalesforceSimulator()
    sim.records["ObjectPermissions"].clear()
    permission_set = sim.records["PermissionSet"][sim.permission_set_id]
    permission_set["PermissionsViewAllData"] = True

    code, _ = await run(sim)
    assert code == 1  # View All Data alone does not let it edit

    permission_set["PermissionsModifyAllData"] = True
    code, lines = await run(sim)
    assert code == 0, lines


async def test_permissions_that_cannot_be_read_are_a_problem_not_a_pass() -> None:
    """Since Summer '20 ObjectPermissions needs View Setup and Configuration."""
    sim = SalesforceSimulator()
    sim.unqueryable.add("ObjectPermissions")

    code, lines = await run(sim)

    assert code == 1
    assert any(
        "record access: cannot read the integration user's permissions (INVALID_TYPE)" in line
        for line in lines
    ), lines


async def test_a_user_without_permission_sets_has_no_access() -> None:
    sim = SalesforceSimulator()
    sim.records["PermissionSetAssignment"].clear()

    code, lines = await run(sim, profile="commerce")

    assert code == 1
    # The commerce profile writes the log object, Case and Order, never the platform's objects.
    for sobject in ("CKO_Integration_Log__c", "Order", "Case"):
        assert any(line.startswith(f"problem: {sobject}: the integration user") for line in lines)
    assert not any("PaymentAuthorization" in line for line in lines)
