"""`paybridge salesforce check` against the Salesforce simulator."""

from __future__ import annotations

from paybridge.cli import salesforce_check
from tests.conftest import make_settings
from tests.salesforce_env import salesforce_values
from tests.simulators.salesforce import FieldSpec, SalesforceSimulator


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
