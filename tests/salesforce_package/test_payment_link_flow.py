"""Issue 16's sample: the Order quick action "Send payment link" launches a Screen Flow that
creates the link with the package's invocable action, shows its URL and expiry, and e-mails it
to the Order's bill-to Contact with the package's e-mail template. Checked from the source
files: every reference resolves, and a broken copy of the flow is caught.

Sources: Metadata API Developer Guide, "Flow", "QuickAction" (type Flow, flowDefinition),
"EmailTemplate" (classic `text` templates in an email folder; source format
`email/<Folder>/<Name>.email` with `-meta.xml`) and "Layout" (quickActionList); Actions
Developer Guide, "Simple Email Actions" (emailTemplateId, recipientId, relatedRecordId)."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.salesforce_package.flow_check import (
    Context,
    flow_problems,
    invocable,
    related_objects,
    template_problems,
)
from tests.salesforce_package.package import (
    APP,
    NS,
    apex_sources,
    child_text,
    children,
    load_package,
    parse,
    source_dir,
)

DEFAULT = source_dir(APP)
FLOW = DEFAULT / "flows" / "Paybridge_Send_Payment_Link.flow-meta.xml"
QUICK_ACTION = DEFAULT / "quickActions" / "Order.Paybridge_Send_Payment_Link.quickAction-meta.xml"
ORDER_LAYOUT = DEFAULT / "layouts" / "Order-Order paybridge Layout.layout-meta.xml"
EMAIL = DEFAULT / "email"


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _templates() -> dict[str, Path]:
    return {p.name.removesuffix(".email"): p for p in sorted(EMAIL.glob("*/*.email"))}


def _subject(template: Path) -> str:
    return child_text(parse(template.with_name(template.name + "-meta.xml")), "subject") or ""


def _related(template: Path) -> str:
    (related,) = related_objects(_subject(template) + template.read_text(encoding="utf-8"))
    return related


def _context() -> Context:
    templates = {name: _related(path) for name, path in _templates().items()}
    return Context(load_package(), apex_sources(), templates)


def _calls(flow: ET.Element, action_type: str) -> list[ET.Element]:
    return [c for c in children(flow, "actionCalls") if child_text(c, "actionType") == action_type]


def _bindings(call: ET.Element) -> dict[str, str | None]:
    """Input name → the resource it reads (None for a literal)."""
    return {
        child_text(p, "name") or "": p.findtext(f"{_q('value')}/{_q('elementReference')}")
        for p in children(call, "inputParameters")
    }


def _outputs(call: ET.Element) -> dict[str, str | None]:
    return {
        child_text(p, "name") or "": child_text(p, "assignToReference")
        for p in children(call, "outputParameters")
    }


def test_the_flow_is_a_screen_flow_taking_the_record_id_at_the_package_api_version() -> None:
    flow = parse(FLOW)
    assert child_text(flow, "processType") == "Flow"
    assert child_text(flow, "apiVersion") == load_package().source_api_version
    assert child_text(flow, "status") == "Active"
    assert children(flow, "screens")
    (record_id,) = [v for v in children(flow, "variables") if child_text(v, "name") == "recordId"]
    assert child_text(record_id, "isInput") == "true"
    assert child_text(record_id, "dataType") == "String"
    inputs = [v for v in children(flow, "variables") if child_text(v, "isInput") == "true"]
    assert inputs == [record_id], "a quick action sets recordId only"


def test_every_connector_reference_action_and_lookup_of_the_flow_resolves() -> None:
    assert flow_problems(parse(FLOW), _context()) == []


def test_it_creates_the_link_for_the_order_and_mails_it_to_the_bill_to_contact() -> None:
    flow = parse(FLOW)
    (create,) = _calls(flow, "apex")
    assert child_text(create, "actionName") == "PaybridgeCreatePaymentLink"
    assert _bindings(create)["orderId"] == "recordId"
    outputs = _outputs(create)
    shown = "".join(t.text or "" for t in flow.iter(_q("fieldText")))
    assert f"{{!{outputs['url']}}}" in shown
    assert f"{{!{outputs['expiresAt']}}}" in shown
    (send,) = _calls(flow, "emailSimple")
    email = _bindings(send)
    assert email["recipientId"] == outputs["contactId"], "the Order's bill-to Contact"
    assert email["emailTemplateId"] == "Get_Email_Template.Id"
    # The action reports failures in its result instead of throwing: the flow branches on it,
    # and a retryable one is sent again with the key the first try used (no second link).
    decided = {c.findtext(_q("leftValueReference")) for c in flow.iter(_q("conditions"))}
    assert {outputs["success"], outputs["retryable"]} <= decided
    assert _bindings(create)["idempotencyKey"] == outputs["idempotencyKey"]


def test_the_invocable_action_is_read_from_its_apex_source() -> None:
    action = invocable(apex_sources()["PaybridgeCreatePaymentLink"])
    assert action is not None
    assert action.required == {"orderId"}
    assert {"orderId", "expiresInSeconds", "store"} <= action.inputs
    assert {"success", "url", "expiresAt", "contactId", "errorMessage"} <= action.outputs


def _rename_action(flow: ET.Element) -> None:
    (call,) = _calls(flow, "apex")
    node = call.find(_q("actionName"))
    assert node is not None
    node.text = "PaybridgeCreatePaymentLinks"


def _rename_output(flow: ET.Element) -> None:
    (call,) = _calls(flow, "apex")
    for output in children(call, "outputParameters"):
        name = output.find(_q("name"))
        if name is not None and name.text == "url":
            name.text = "link"


def _drop_required_input(flow: ET.Element) -> None:
    (call,) = _calls(flow, "apex")
    for given in children(call, "inputParameters"):
        if child_text(given, "name") == "orderId":
            call.remove(given)


def _dangling_connector(flow: ET.Element) -> None:
    target = next(flow.iter(_q("targetReference")))
    target.text = "Nowhere"


def _other_template(flow: ET.Element) -> None:
    for value in flow.iter(_q("stringValue")):
        if value.text == "Paybridge_Payment_Link":
            value.text = "Some_Other_Template"


def _relate_the_order(flow: ET.Element) -> None:
    (send,) = _calls(flow, "emailSimple")
    for given in children(send, "inputParameters"):
        if child_text(given, "name") == "relatedRecordId":
            ref = given.find(f"{_q('value')}/{_q('elementReference')}")
            assert ref is not None
            ref.text = "Get_Order.Id"


def _unknown_email_input(flow: ET.Element) -> None:
    (send,) = _calls(flow, "emailSimple")
    for name in send.iter(_q("name")):
        if name.text == "logEmailOnSend":
            name.text = "attachFiles"


def _field_not_queried(flow: ET.Element) -> None:
    text = next(flow.iter(_q("fieldText")))
    text.text = (text.text or "") + "{!Get_Order.TotalAmount}"


@pytest.mark.parametrize(
    "break_it",
    [
        _rename_action,
        _rename_output,
        _drop_required_input,
        _dangling_connector,
        _other_template,
        _relate_the_order,
        _unknown_email_input,
        _field_not_queried,
    ],
)
def test_a_broken_copy_of_the_flow_is_caught(break_it: Callable[[ET.Element], None]) -> None:
    flow = copy.deepcopy(parse(FLOW))
    break_it(flow)
    assert flow_problems(flow, _context()) != []


def test_the_template_is_a_classic_text_template_in_a_public_folder() -> None:
    templates = _templates()
    assert set(templates) == {"Paybridge_Payment_Link"}
    template = templates["Paybridge_Payment_Link"]
    folder = EMAIL / f"{template.parent.name}.emailFolder-meta.xml"
    assert child_text(parse(folder), "accessType") == "Public"
    meta = parse(template.with_name(template.name + "-meta.xml"))
    assert child_text(meta, "type") == "text"
    assert child_text(meta, "available") == "true"
    assert child_text(meta, "encodingKey") == "UTF-8"
    body = template.read_text(encoding="utf-8")
    assert "{!CKO_Payment_Link__c.Url__c}" in body
    assert "{!CKO_Payment_Link__c.Expires_At__c}" in body
    assert template_problems(body, _subject(template), _related(template), load_package()) == []
    broken = body.replace("Url__c", "Link_Url__c")
    assert template_problems(broken, "", "CKO_Payment_Link__c", load_package()) != []


def test_the_order_quick_action_launches_the_flow_and_the_order_layout_offers_it() -> None:
    action = parse(QUICK_ACTION)
    assert child_text(action, "type") == "Flow"
    flow_name = child_text(action, "flowDefinition")
    assert (DEFAULT / "flows" / f"{flow_name}.flow-meta.xml") == FLOW
    sobject, name = QUICK_ACTION.name.removesuffix(".quickAction-meta.xml").split(".")
    assert sobject == "Order"
    layout = parse(ORDER_LAYOUT)
    offered = {q.text for q in layout.iter(_q("quickActionName"))}
    assert f"{sobject}.{name}" in offered
    related = {child_text(r, "relatedList") for r in children(layout, "relatedLists")}
    assert "CKO_Payment_Link__c.Order__c" in related
