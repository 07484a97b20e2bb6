"""Does a Screen Flow of the package hold together? Returns problems (an empty list = none).

What Flow Builder and a deploy would reject, read from the source files without an org:
connectors to elements that do not exist, elements no path reaches, references to resources
that are not declared, an Apex action whose inputs or outputs are not `@InvocableVariable`s of
its class (or that misses a required one), a Get Records on an unknown object or field, and a
Send Email (`emailSimple`) step given inputs the action does not have or a template the
package does not ship. Metadata API Developer Guide, "Flow" (element and field names);
Actions Developer Guide, "Simple Email Actions" (`emailSimple` inputs)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from tests.salesforce_package.mapping_check import is_custom
from tests.salesforce_package.package import NS, Package, child_text, children

# Elements a connector can point at (Metadata API, Flow: the FlowNode subtypes used here).
NODE_TAGS = ("actionCalls", "decisions", "recordLookups", "screens", "assignments", "subflows")
# Inputs of the standard Send Email action a flow at API 60.0 may set (Simple Email Actions,
# Actions Developer Guide; its Winter '24 / API 59.0 edition, atlas.en-us.244.0.api_action,
# already documents the template inputs, so they predate the 60.0 the package pins).
EMAIL_SIMPLE_INPUTS = frozenset(
    {
        "emailAddresses", "emailAddressesArray", "emailSubject", "emailBody", "senderAddress",
        "senderType", "sendRichBody", "emailTemplateId", "recipientId", "relatedRecordId",
        "logEmailOnSend",
    }
)  # fmt: skip
# Standard objects a flow of the package may read; their fields are the org's.
STANDARD_OBJECTS = frozenset({"Order", "Contact", "EmailTemplate"})
_MERGE = re.compile(r"\{!([$\w]+)(?:\.(\w+))?\}")
_INVOCABLE_VAR = re.compile(
    r"@InvocableVariable(\((?:[^()']|'(?:\\.|[^'\\])*')*\))?\s*public\s+[\w<>.]+\s+(\w+)\s*[;=]"
)


@dataclass(frozen=True)
class Invocable:
    """An invocable Apex class: its request and result variables, and the required inputs."""

    inputs: frozenset[str]
    required: frozenset[str]
    outputs: frozenset[str]


def _inner_class(source: str, name: str) -> str:
    match = re.search(rf"\bclass\s+{name}\s*\{{", source)
    if match is None:
        return ""
    depth, start = 1, match.end()
    for index in range(start, len(source)):
        depth += {"{": 1, "}": -1}.get(source[index], 0)
        if depth == 0:
            return source[start:index]
    return ""


def invocable(source: str) -> Invocable | None:
    """The `@InvocableMethod`'s request and result classes, read from the Apex source."""
    signature = re.search(
        r"@InvocableMethod\b.*?List<(\w+)>\s+\w+\s*\(\s*List<(\w+)>", source, flags=re.S
    )
    if signature is None:
        return None
    result, request = signature.groups()
    inputs, required = set(), set()
    for annotation, name in _INVOCABLE_VAR.findall(_inner_class(source, request)):
        inputs.add(name)
        if re.search(r"required\s*=\s*true", annotation, flags=re.I):
            required.add(name)
    outputs = {name for _, name in _INVOCABLE_VAR.findall(_inner_class(source, result))}
    return Invocable(frozenset(inputs), frozenset(required), frozenset(outputs))


@dataclass(frozen=True)
class Context:
    """What the flow may refer to outside itself."""

    package: Package
    apex: dict[str, str]  # class name → source
    templates: dict[str, str]  # template unique name → object its merge fields relate to


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _nodes(flow: ET.Element) -> dict[str, ET.Element]:
    return {
        child_text(node, "name") or "": node for tag in NODE_TAGS for node in children(flow, tag)
    }


def _targets(element: ET.Element) -> Iterator[str]:
    for tag in ("connector", "defaultConnector", "faultConnector"):
        for connector in element.iter(_q(tag)):
            target = child_text(connector, "targetReference")
            if target:
                yield target


def _declared(flow: ET.Element) -> set[str]:
    names = set(_nodes(flow))
    for tag in ("variables", "formulas", "constants", "textTemplates"):
        names |= {child_text(v, "name") or "" for v in children(flow, tag)}
    for screen in children(flow, "screens"):
        names |= {child_text(f, "name") or "" for f in screen.iter(_q("fields"))}
    return names


def _references(flow: ET.Element) -> Iterator[tuple[str, str | None]]:
    """(resource, field) for every element reference and every `{!…}` merge field."""
    for tag in ("elementReference", "leftValueReference", "assignToReference"):
        for ref in flow.iter(_q(tag)):
            root, _, field = (ref.text or "").partition(".")
            yield root, field or None
    for tag in ("fieldText", "expression", "formulaExpression", "errorMessage", "interviewLabel"):
        for text in flow.iter(_q(tag)):
            for root, field in _MERGE.findall(text.text or ""):
                yield root, field or None


def _reachable(flow: ET.Element, nodes: dict[str, ET.Element]) -> set[str]:
    start = flow.find(_q("start"))
    pending = [] if start is None else list(_targets(start))
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name not in nodes:
            continue
        seen.add(name)
        pending.extend(_targets(nodes[name]))
    return seen


def _lookup_problems(lookup: ET.Element, package: Package) -> list[str]:
    name = child_text(lookup, "name")
    sobject = child_text(lookup, "object") or ""
    if sobject not in STANDARD_OBJECTS and sobject not in package.custom_objects:
        return [f"{name}: unknown object {sobject}"]
    fields = [child_text(f, "field") or "" for f in children(lookup, "filters")]
    fields += [q.text or "" for q in children(lookup, "queriedFields")]
    return [
        f"{name}: unknown field {sobject}.{field}"
        for field in fields
        if is_custom(field) and package.field(sobject, field) is None
    ]


def _apex_problems(call: ET.Element, context: Context, variables: set[str]) -> list[str]:
    name = child_text(call, "name")
    class_name = child_text(call, "actionName") or ""
    action = invocable(context.apex.get(class_name, ""))
    if action is None:
        return [f"{name}: no invocable Apex class {class_name}"]
    given = {child_text(p, "name") or "" for p in children(call, "inputParameters")}
    problems = [f"{name}: {class_name} has no input {p}" for p in sorted(given - action.inputs)]
    problems += [f"{name}: required input {p} not set" for p in sorted(action.required - given)]
    for output in children(call, "outputParameters"):
        param, target = child_text(output, "name"), child_text(output, "assignToReference")
        if param not in action.outputs:
            problems.append(f"{name}: {class_name} has no output {param}")
        if target not in variables:
            problems.append(f"{name}: output {param} goes to undeclared {target}")
    return problems


def _input(call: ET.Element, param: str) -> str | None:
    for given in children(call, "inputParameters"):
        if child_text(given, "name") == param:
            value = given.find(_q("value"))
            return None if value is None else child_text(value, "elementReference")
    return None


def _email_problems(call: ET.Element, flow: ET.Element, context: Context) -> list[str]:
    name = child_text(call, "name")
    given = {child_text(p, "name") or "" for p in children(call, "inputParameters")}
    problems = [
        f"{name}: emailSimple has no input {p}" for p in sorted(given - EMAIL_SIMPLE_INPUTS)
    ]
    if "emailTemplateId" not in given:
        return problems
    nodes = _nodes(flow)
    template_ref = (_input(call, "emailTemplateId") or "").partition(".")[0]
    lookup = nodes.get(template_ref)
    if lookup is None or child_text(lookup, "object") != "EmailTemplate":
        return [*problems, f"{name}: emailTemplateId is not read from EmailTemplate"]
    names = [
        value.findtext(_q("stringValue"))
        for f in children(lookup, "filters")
        if child_text(f, "field") == "DeveloperName"
        for value in children(f, "value")
    ]
    if len(names) != 1 or names[0] not in context.templates:
        return [*problems, f"{name}: the template {names} is not shipped by the package"]
    related = (_input(call, "relatedRecordId") or "").partition(".")[0]
    related_object = child_text(nodes[related], "object") if related in nodes else None
    if related_object != context.templates[names[0]]:
        problems.append(
            f"{name}: relatedRecordId is a {related_object}, the template merges "
            f"{context.templates[names[0]]}"
        )
    if _input(call, "recipientId") is None:
        problems.append(f"{name}: a template needs recipientId (the Contact it merges)")
    return problems


def flow_problems(flow: ET.Element, context: Context) -> list[str]:
    nodes = _nodes(flow)
    problems = [
        f"connector to unknown element {t}" for t in sorted(set(_targets(flow)) - set(nodes))
    ]
    problems += [f"{n} is never reached" for n in sorted(set(nodes) - _reachable(flow, nodes))]
    declared = _declared(flow)
    variables = {child_text(v, "name") or "" for v in children(flow, "variables")}
    for root, field in _references(flow):
        if root.startswith("$"):
            continue
        if root not in declared:
            problems.append(f"reference to undeclared {root}")
        elif field and root in nodes and nodes[root].tag == _q("recordLookups"):
            queried = {q.text for q in children(nodes[root], "queriedFields")}
            if field not in queried:
                problems.append(f"{root}.{field} is not among the fields {root} reads")
    for lookup in children(flow, "recordLookups"):
        problems += _lookup_problems(lookup, context.package)
    for call in children(flow, "actionCalls"):
        kind = child_text(call, "actionType")
        if kind == "apex":
            problems += _apex_problems(call, context, variables)
        elif kind == "emailSimple":
            problems += _email_problems(call, flow, context)
        else:
            problems.append(f"{child_text(call, 'name')}: action type {kind} is not checked here")
    return problems


def related_objects(text: str) -> set[str]:
    """Objects a classic template merges besides the recipient, the sender and the org."""
    return {sobject for sobject, _ in _MERGE.findall(text)} - {"Contact", "User", "Organization"}


def template_problems(body: str, subject: str, related: str, package: Package) -> list[str]:
    """Merge fields of a classic template: the recipient Contact, the sender, the org, and the
    one related object (whose custom fields must exist)."""
    problems = []
    for sobject, field in _MERGE.findall(subject + "\n" + body):
        if sobject in {"Contact", "User", "Organization"}:
            continue
        if sobject != related:
            problems.append(f"merge field of {sobject}, not of the related {related}")
        elif not field or (is_custom(field) and package.field(sobject, field) is None):
            problems.append(f"unknown field {sobject}.{field}")
    return problems
