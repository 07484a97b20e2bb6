"""The dispute Case's record type and owner queue, looked up by developer name in the org."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from paybridge.adapters.http import RetryPolicy
from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.app import build_salesforce_client
from paybridge.mapping.salesforce_fields import ProfileMapping, load_salesforce_mapping
from paybridge.mapping.salesforce_records import CaseAssignment
from paybridge.services.case_assignment import CaseAssignments, CaseNotAssignable
from paybridge.settings import SalesforceSettings
from tests.salesforce_env import salesforce_values
from tests.simulators.salesforce import SalesforceSimulator


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


@pytest.fixture
async def client(sim: SalesforceSimulator) -> AsyncIterator[SalesforceClient]:
    http, built = build_salesforce_client(
        SalesforceSettings.model_validate(salesforce_values(sim)),
        transport=sim.transport(),
        retry_policy=RetryPolicy.immediate(2),
    )
    yield built
    await http.aclose()


def profile(record_type: str | None, owner_queue: str | None) -> ProfileMapping:
    custom = load_salesforce_mapping().profile("custom")
    case = custom.records["dispute_case"].model_copy(
        update={"record_type": record_type, "owner_queue": owner_queue}
    )
    return custom.model_copy(update={"records": {**custom.records, "dispute_case": case}})


async def test_developer_names_are_looked_up_once(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    queue = sim.seed("Group", {"Type": "Queue", "DeveloperName": "Chargebacks"})
    sim.seed("Group", {"Type": "Regular", "DeveloperName": "Chargebacks_Team"})
    record_type = sim.get("RecordType", "DeveloperName", "Payment_Dispute")
    assert record_type is not None
    cases = CaseAssignments(client, profile("Payment_Dispute", "Chargebacks"))

    first = await cases.get()
    calls = sim.api_calls
    again = await cases.get()

    assert first == again == CaseAssignment(record_type_id=record_type["Id"], owner_id=queue)
    assert sim.api_calls == calls  # cached for the life of the process
    assert calls == 2


async def test_ids_are_used_as_they_are(sim: SalesforceSimulator, client: SalesforceClient) -> None:
    cases = CaseAssignments(client, profile("012000000000001AAA", "00G000000000002AAA"))

    assert await cases.get() == CaseAssignment("012000000000001AAA", "00G000000000002AAA")
    assert sim.api_calls == 0


async def test_nothing_named_means_nothing_asked(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    assert await CaseAssignments(client, profile(None, None)).get() == CaseAssignment()
    assert sim.api_calls == 0


async def test_an_unknown_name_fails_clearly_and_is_asked_again_later(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    cases = CaseAssignments(client, profile("Payment_Dispute", "Chargebacks"))

    with pytest.raises(CaseNotAssignable, match=r"dispute_case.owner_queue: Chargebacks"):
        await cases.get()
    queue = sim.seed("Group", {"Type": "Queue", "DeveloperName": "Chargebacks"})  # admin fix

    assert (await cases.get()).owner_id == queue


async def test_a_name_that_is_not_a_developer_name_is_refused_before_any_call(
    sim: SalesforceSimulator, client: SalesforceClient
) -> None:
    cases = CaseAssignments(client, profile("x' OR Name != '", None))

    with pytest.raises(CaseNotAssignable, match="not a Salesforce developer name"):
        await cases.get()
    assert sim.api_calls == 0
