"""The package's Lightning web components against the Apex they call and the pages they target:
what only a deploy or the first page view would otherwise report. Jest (salesforce/scripts/check)
tests their behaviour; this reads their source, so it needs no Node.

Rules, from Salesforce's LWC guide:
- an Apex method a component imports is `static`, `public` or `global` and `@AuraEnabled`, and not
  overloaded ("Don't overload @AuraEnabled Apex methods"); a `@wire`d one is `cacheable=true`
  https://developer.salesforce.com/docs/platform/lwc/guide/apex-wire-method.html
- a record-page component lists its objects under `targetConfig targets="lightning__RecordPage"`
  https://developer.salesforce.com/docs/platform/lwc/guide/targets-lightning-record-page.html
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.salesforce_package.package import (
    APP,
    apex_sources,
    child_text,
    children,
    load_package,
    parse,
    source_dir,
    strip_comments,
)

LWC = source_dir(APP) / "lwc"
APEX_IMPORT = re.compile(r"import\s+(\w+)\s+from\s+'@salesforce/apex/(\w+)\.(\w+)';")
STANDARD_RECORD_PAGES = frozenset({"Order", "Case", "Account"})


def _bundles() -> list[Path]:
    return sorted(path for path in LWC.iterdir() if path.is_dir())


def _component_js(bundle: Path) -> str:
    """The bundle's own modules (tests excluded): what the org runs."""
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(bundle.glob("*.js")))


def _aura_methods(class_source: str, method: str) -> list[tuple[str, list[str]]]:
    """(annotation, parameter names) of each `@AuraEnabled … static … method(` in the class."""
    pattern = re.compile(
        r"@AuraEnabled(\([^)]*\))?\s+(?:public|global)\s+static\s+[\w<>, .]+?\s+"
        + re.escape(method)
        + r"\s*\(([^)]*)\)"
    )
    found = []
    for match in pattern.finditer(class_source):
        params = [p.split()[-1] for p in match.group(2).split(",") if p.strip()]
        found.append((match.group(1) or "", params))
    return found


def _granted_to_users() -> set[str]:
    root = parse(source_dir(APP) / "permissionsets" / "Paybridge_User.permissionset-meta.xml")
    return {child_text(access, "apexClass") or "" for access in children(root, "classAccesses")}


def test_the_package_ships_the_payment_timeline() -> None:
    assert "paybridgePaymentTimeline" in [bundle.name for bundle in _bundles()]


@pytest.mark.parametrize("bundle", _bundles(), ids=lambda path: path.name)
def test_record_page_components_target_objects_that_exist(bundle: Path) -> None:
    root = parse(bundle / f"{bundle.name}.js-meta.xml")
    assert child_text(root, "isExposed") == "true", "Lightning App Builder lists exposed ones"
    assert child_text(root, "apiVersion") == load_package().source_api_version
    targets = {t.text for t in root.iter() if t.tag.endswith("}target")}
    assert "lightning__RecordPage" in targets
    configs = children(children(root, "targetConfigs")[0], "targetConfig")
    record_page = [c for c in configs if c.get("targets") == "lightning__RecordPage"]
    assert len(record_page) == 1
    objects = [o.text or "" for o in children(children(record_page[0], "objects")[0], "object")]
    custom = load_package().custom_objects
    for sobject in objects:
        assert sobject in STANDARD_RECORD_PAGES or custom.get(sobject) == APP, sobject
    if bundle.name == "paybridgePaymentTimeline":
        assert sorted(objects) == ["CKO_Payment__c", "Order"]


@pytest.mark.parametrize("bundle", _bundles(), ids=lambda path: path.name)
def test_components_call_existing_aura_enabled_apex_that_users_may_run(bundle: Path) -> None:
    js = _component_js(bundle)
    imports = APEX_IMPORT.findall(js)
    assert imports, f"{bundle.name} imports no Apex"
    sources = {name: strip_comments(text) for name, text in apex_sources().items()}
    granted = _granted_to_users()
    for symbol, class_name, method in imports:
        assert class_name in sources, f"{bundle.name}: no Apex class {class_name}"
        definitions = _aura_methods(sources[class_name], method)
        assert len(definitions) == 1, f"{class_name}.{method}: one @AuraEnabled definition"
        annotation, params = definitions[0]
        wired = re.search(rf"@wire\(\s*{symbol}\b", js) is not None
        if wired:
            assert re.search(r"cacheable\s*=\s*true", annotation), f"{method} is wired"
        for param in params:
            # The component passes parameters by name: each must be named in its code.
            assert re.search(rf"\b{param}\b", js), f"{bundle.name} never names {method}'s {param}"
        assert class_name in granted, f"Paybridge_User must grant {class_name}"


def test_the_timeline_moves_money_only_through_the_flow_actions() -> None:
    """Reuse, not a second path to paybridge: the Flow actions check the record and keep keys."""
    source = strip_comments(apex_sources()["PaybridgePaymentTimeline"])
    assert "new PaybridgeClient(" not in source
    for call in (
        "PaybridgeCaptureAction.capture(",
        "PaybridgeRefundAction.refund(",
        "PaybridgeVoidAction.voidPayments(",
    ):
        assert call in source, call
    # Every read runs in user mode: the viewer's field and sharing access apply.
    queries = re.findall(r"\[\s*SELECT\b.*?\]", source, re.S)
    assert queries
    for query in queries:
        assert "WITH USER_MODE" in query, query[:80]
