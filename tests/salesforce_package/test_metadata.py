"""The package's metadata files: well-formed, one API version, and cross-references that resolve
(permission sets ↔ objects, fields, classes, record types, credential principals; layouts)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from paybridge.mapping.salesforce_fields import load_salesforce_mapping
from tests.salesforce_package.mapping_check import field_api_name, is_custom
from tests.salesforce_package.package import (
    APP,
    COMMERCE,
    NS,
    ROOT,
    child_text,
    children,
    load_package,
    meta_files,
    package_files,
    parse,
    source_dir,
)

# Standard objects the permission sets may name (they are the org's, not the package's).
STANDARD_OBJECTS = frozenset(
    {"Account", "Case", "Order", "Payment", "PaymentAuthorization", "PaymentGatewayLog", "Refund"}
)
# Standard fields paybridge writes that take field-level security: optional and updateable in
# the Case object reference, so a permission set grants them and a user without it cannot write
# them. https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_case.htm
STANDARD_FIELDS_WITH_FLS = frozenset(
    {"Case.AccountId", "Case.Origin", "Case.Priority", "Case.Subject"}
)
# Standard fields without field-level security: Case.Status is required on every Case (not
# Nillable in the Case object reference above, defaulted on create). Universally required fields
# override field-level security (Salesforce Help, "What Determines Field Access?"), and a
# permission set naming a required field does not deploy, so its access follows the object's.
STANDARD_FIELDS_WITHOUT_FLS = frozenset({"Case.Status"})
# From @salesforce/types metadata.d.ts (ExternalCredentialParamType, NamedCredential types).
EXTERNAL_PARAM_TYPES = frozenset(
    {
        "ParameterGroup", "ExternalAuthIdentityProvider", "AuthProvider", "AuthProviderUrl",
        "AuthProviderUrlQueryParameter", "SigningCertificate", "FormulaVariable",
        "AuthProviderAuthParameter", "AuthParameter", "NamedPrincipal", "PerUserPrincipal",
        "AwsStsPrincipal", "GlobalNamedPrincipal", "SystemUserPrincipal", "AuthContext",
        "AuthQueryParameter", "AuthHeader", "AuthProtocolVariant", "JwtBodyClaim",
        "JwtHeaderClaim",
    }
)  # fmt: skip
NAMED_PARAM_TYPES = frozenset(
    {"Url", "UrlQueryParameter", "HttpHeader", "HttpCookie", "ClientCertificate",
     "ServerCertificate", "FormulaVariable", "Authentication", "OutboundNetworkConnection",
     "AllowedManagedPackageNamespaces"}
)  # fmt: skip
COMPONENTS_FILE = ROOT / "manifest" / "components.txt"


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _package_dir_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


@pytest.mark.parametrize("path", list(meta_files()), ids=_relative)
def test_every_meta_file_is_well_formed_metadata(path: Path) -> None:
    root = ET.parse(path).getroot()
    assert root.tag.startswith(f"{{{NS}}}"), f"{_relative(path)}: not in the metadata namespace"


def test_every_class_and_trigger_has_its_meta_at_the_project_api_version() -> None:
    package = load_package()
    sources = [
        path
        for package_dir in package.package_dirs
        for pattern in ("*.cls", "*.trigger")
        for path in (ROOT / package_dir).rglob(pattern)
    ]
    assert sources
    for path in sources:
        meta = path.with_name(path.name + "-meta.xml")
        assert meta.exists(), f"{_relative(path)} has no -meta.xml (it would be dropped silently)"
        root = parse(meta)
        assert child_text(root, "apiVersion") == package.source_api_version, _relative(meta)
        assert child_text(root, "status") == "Active", _relative(meta)
    for meta in package_files("*.cls-meta.xml"):
        assert meta.with_name(meta.name.removesuffix("-meta.xml")).exists(), _relative(meta)


def _component(path: Path) -> str:
    """`Type:Member` as `sf project generate manifest` names the file's component."""
    rel = path.relative_to(source_dir(_package_dir_of(path)))
    parts = rel.parts
    name = path.name
    simple = {
        "classes": ("ApexClass", ".cls"),
        "triggers": ("ApexTrigger", ".trigger"),
        "layouts": ("Layout", ".layout-meta.xml"),
        "permissionsets": ("PermissionSet", ".permissionset-meta.xml"),
        "externalCredentials": ("ExternalCredential", ".externalCredential-meta.xml"),
        "namedCredentials": ("NamedCredential", ".namedCredential-meta.xml"),
        "externalServiceRegistrations": (
            "ExternalServiceRegistration",
            ".externalServiceRegistration-meta.xml",
        ),
        "customMetadata": ("CustomMetadata", ".md-meta.xml"),
        "flows": ("Flow", ".flow-meta.xml"),
        "quickActions": ("QuickAction", ".quickAction-meta.xml"),
        "paymentGatewayProviders": ("PaymentGatewayProvider", ".paymentGatewayProvider-meta.xml"),
    }
    if parts[0] == "email":  # a folder, and its templates as <Folder>/<Name>
        if len(parts) == 2:
            assert name.endswith(".emailFolder-meta.xml"), f"unexpected file {rel}"
            return f"EmailTemplate:{name.removesuffix('.emailFolder-meta.xml')}"
        assert len(parts) == 3, f"unexpected file {rel}"
        assert name.endswith((".email", ".email-meta.xml")), f"unexpected file {rel}"
        return f"EmailTemplate:{parts[1]}/{name.removesuffix('-meta.xml').removesuffix('.email')}"
    if parts[0] == "lwc":
        # Every file of a bundle folder is one component; __tests__ is in .forceignore.
        assert len(parts) >= 3, f"unexpected file {rel}"
        return f"LightningComponentBundle:{parts[1]}"
    if parts[0] in simple:
        kind, suffix = simple[parts[0]]
        assert name.endswith(suffix), f"unexpected file {rel}"
        return f"{kind}:{name.removesuffix(suffix)}"
    assert parts[0] == "objects", f"unexpected file {rel}"
    sobject = parts[1]
    if len(parts) == 3:
        assert name == f"{sobject}.object-meta.xml", f"unexpected file {rel}"
        return f"CustomObject:{sobject}"
    nested = {
        "fields": ("CustomField", ".field-meta.xml"),
        "compactLayouts": ("CompactLayout", ".compactLayout-meta.xml"),
        "recordTypes": ("RecordType", ".recordType-meta.xml"),
        "businessProcesses": ("BusinessProcess", ".businessProcess-meta.xml"),
    }
    assert parts[2] in nested, f"unexpected file {rel}"
    kind, suffix = nested[parts[2]]
    assert name.endswith(suffix), f"unexpected file {rel}"
    return f"{kind}:{sobject}.{name.removesuffix(suffix)}"


def test_the_expected_component_list_matches_the_source_files() -> None:
    """scripts/check compares the same list with what the Salesforce CLI infers."""
    found = set()
    for package_dir in load_package().package_dirs:
        for path in (ROOT / package_dir).rglob("*"):
            if path.is_file() and not path.name.endswith(".cls-meta.xml"):
                if path.name.endswith(".trigger-meta.xml") or "__tests__" in path.parts:
                    continue
                found.add(_component(path))
    lines = COMPONENTS_FILE.read_text(encoding="utf-8").splitlines()
    expected = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert sorted(found - expected) == [], "add these to manifest/components.txt"
    assert sorted(expected - found) == [], "these are listed but have no source file"


# ---------------------------------------------------------------- credentials


def _external_credentials() -> dict[str, ET.Element]:
    return {
        path.name.removesuffix(".externalCredential-meta.xml"): parse(path)
        for path in package_files("*.externalCredential-meta.xml")
    }


def _principals() -> set[str]:
    """`<ExternalCredential>-<NamedPrincipal parameter>`, as permission sets name them."""
    names = set()
    for credential, root in _external_credentials().items():
        for param in children(root, "externalCredentialParameters"):
            if child_text(param, "parameterType") in {"NamedPrincipal", "PerUserPrincipal"}:
                names.add(f"{credential}-{child_text(param, 'parameterName')}")
    return names


def test_the_external_credential_sends_the_api_key_from_a_formula_never_a_literal() -> None:
    credentials = _external_credentials()
    assert set(credentials) == {"Paybridge"}
    root = credentials["Paybridge"]
    assert child_text(root, "authenticationProtocol") == "Custom"
    params = children(root, "externalCredentialParameters")
    for param in params:
        assert child_text(param, "parameterType") in EXTERNAL_PARAM_TYPES
    headers = [p for p in params if child_text(p, "parameterType") == "AuthHeader"]
    assert [child_text(p, "parameterName") for p in headers] == ["X-API-Key"]
    value = child_text(headers[0], "parameterValue") or ""
    assert re.fullmatch(r"\{!\$Credential\.Paybridge\.[A-Za-z]\w*\}", value), value
    principals = [p for p in params if child_text(p, "parameterType") == "NamedPrincipal"]
    assert len(principals) == 1


def test_the_named_credential_points_at_the_external_credential() -> None:
    paths = list(package_files("*.namedCredential-meta.xml"))
    assert [p.name for p in paths] == ["Paybridge.namedCredential-meta.xml"]
    root = parse(paths[0])
    assert child_text(root, "namedCredentialType") == "SecuredEndpoint"
    params = children(root, "namedCredentialParameters")
    for param in params:
        assert child_text(param, "parameterType") in NAMED_PARAM_TYPES
    auth = [p for p in params if child_text(p, "parameterType") == "Authentication"]
    assert [child_text(p, "externalCredential") for p in auth] == ["Paybridge"]
    urls = [
        child_text(p, "parameterValue") or ""
        for p in params
        if child_text(p, "parameterType") == "Url"
    ]
    assert len(urls) == 1
    assert urls[0].startswith("https://")
    assert not urls[0].rstrip("/").endswith("/v1"), "the client adds /v1 itself"


def test_apex_calls_out_through_the_shipped_named_credential() -> None:
    client = (source_dir(APP) / "classes" / "PaybridgeClient.cls").read_text(encoding="utf-8")
    assert "NAMED_CREDENTIAL = 'Paybridge'" in client
    assert "'callout:' + namedCredential + path" in client


# ---------------------------------------------------------------- permission sets


def _permission_sets() -> dict[str, tuple[str, ET.Element]]:
    return {
        path.name.removesuffix(".permissionset-meta.xml"): (_package_dir_of(path), parse(path))
        for path in package_files("*.permissionset-meta.xml")
    }


def test_permission_sets_reference_what_exists_in_their_package_directory() -> None:
    package = load_package()
    classes = {p.stem for p in package_files("*.cls")}
    record_types = {
        f"{p.parent.parent.name}.{p.name.removesuffix('.recordType-meta.xml')}"
        for p in package_files("*.recordType-meta.xml")
    }
    principals = _principals()
    for name, (package_dir, root) in _permission_sets().items():
        # force-app deploys alone in custom orgs, so its permission sets may name only force-app.
        allowed_dirs = {APP} if package_dir == APP else {APP, COMMERCE}
        for access in children(root, "classAccesses"):
            assert child_text(access, "apexClass") in classes, name
        for access in children(root, "objectPermissions"):
            obj = child_text(access, "object") or ""
            assert obj in STANDARD_OBJECTS or package.custom_objects.get(obj) in allowed_dirs, (
                f"{name}: unknown object {obj}"
            )
        for access in children(root, "fieldPermissions"):
            qualified = child_text(access, "field") or ""
            if qualified in STANDARD_FIELDS_WITH_FLS:
                continue
            sobject, _, field_name = qualified.partition(".")
            field = package.field(sobject, field_name)
            assert field is not None, f"{name}: unknown field {sobject}.{field_name}"
            assert field.package_dir in allowed_dirs, f"{name}: {field.qualified}"
            assert field.type != "MasterDetail", f"{name}: {field.qualified} takes no permission"
            assert not field.required, f"{name}: {field.qualified} takes no permission"
        for access in children(root, "recordTypeVisibilities"):
            assert child_text(access, "recordType") in record_types, name
        for access in children(root, "externalCredentialPrincipalAccesses"):
            assert child_text(access, "externalCredentialPrincipal") in principals, name


def _editable_fields(permission_set: str) -> set[str]:
    _, root = _permission_sets()[permission_set]
    return {
        child_text(access, "field") or ""
        for access in children(root, "fieldPermissions")
        if child_text(access, "editable") == "true"
    }


def _written_fields_needing_fls(profile: str) -> set[str]:
    """`Object.Field` for every field the mapping writes that takes field-level security."""
    package = load_package()
    needed = set()
    for record in load_salesforce_mapping().profiles[profile].records.values():
        for mapped in record.written_fields.values():
            name = field_api_name(mapped)
            qualified = f"{record.sobject}.{name}"
            if is_custom(name):
                field = package.field(record.sobject, name)
                if field is not None and field.type != "MasterDetail" and not field.required:
                    needed.add(qualified)
            elif qualified not in STANDARD_FIELDS_WITHOUT_FLS:
                needed.add(qualified)
    return needed


def test_the_integration_user_may_write_every_field_the_custom_profile_writes() -> None:
    """Standard fields too (Case.Origin, Priority, AccountId, Subject): derived from the mapping,
    so a field added there without a grant fails here instead of at the first write."""
    needed = _written_fields_needing_fls("custom")
    assert {"Case.Origin", "Case.Priority", "Case.AccountId", "Case.Subject"} <= needed
    assert needed - _editable_fields("Paybridge_Integration") == set()


def test_no_permission_set_names_currency_iso_code() -> None:
    """Multi-currency orgs get CurrencyIsoCode written (mapping `multi_currency`), but the field
    exists only where multiple currencies are enabled (Object Reference: "available only if the
    multicurrency feature is enabled"), so a permission set naming it could not deploy to a
    single-currency org. `paybridge salesforce check` sees it in the integration user's
    describe."""
    for name, (_, root) in _permission_sets().items():
        fields = {child_text(grant, "field") or "" for grant in children(root, "fieldPermissions")}
        assert not {field for field in fields if field.endswith(".CurrencyIsoCode")}, name


def test_the_integration_user_may_write_every_field_the_commerce_profile_writes() -> None:
    """The commerce profile writes only what `custom` writes (logs, Order fields, Cases): the
    payments platform owns PaymentAuthorization, Payment, Refund and PaymentGatewayLog."""
    needed = _written_fields_needing_fls("commerce")
    assert needed
    assert needed - _editable_fields("Paybridge_Integration") == set()
    written = {r.sobject for r in load_salesforce_mapping().profiles["commerce"].records.values()}
    assert written.isdisjoint({"PaymentAuthorization", "Payment", "Refund", "PaymentGatewayLog"})


def test_users_get_the_principal_the_flow_actions_and_the_dispute_record_type() -> None:
    _, root = _permission_sets()["Paybridge_User"]
    granted = {child_text(a, "apexClass") for a in children(root, "classAccesses")}
    invocables = {p.stem for p in package_files("*.cls") if "@InvocableMethod" in p.read_text()}
    assert invocables <= granted
    assert {
        child_text(a, "externalCredentialPrincipal")
        for a in children(root, "externalCredentialPrincipalAccesses")
    } == {"Paybridge-ApiKeyPrincipal"}
    assert "Case.Payment_Dispute" in {
        child_text(a, "recordType") for a in children(root, "recordTypeVisibilities")
    }


# ---------------------------------------------------------------- objects and layouts


def test_dispute_record_type_has_its_support_process() -> None:
    objects = source_dir(APP) / "objects" / "Case"
    record_type = parse(objects / "recordTypes" / "Payment_Dispute.recordType-meta.xml")
    assert child_text(record_type, "label") == "Payment Dispute"
    process = child_text(record_type, "businessProcess")
    assert (objects / "businessProcesses" / f"{process}.businessProcess-meta.xml").exists()


def test_compact_layouts_and_layouts_name_existing_fields() -> None:
    package = load_package()
    for sobject, package_dir in package.custom_objects.items():
        if sobject.endswith("__mdt"):
            continue  # custom metadata types have no compact layouts
        object_dir = source_dir(package_dir) / "objects" / sobject
        root = parse(object_dir / f"{sobject}.object-meta.xml")
        assignment = child_text(root, "compactLayoutAssignment")
        compact = object_dir / "compactLayouts" / f"{assignment}.compactLayout-meta.xml"
        assert compact.exists(), sobject
        for column in children(parse(compact), "fields"):
            name = column.text or ""
            assert not is_custom(name) or package.field(sobject, name), f"{sobject}.{name}"
    for path in package_files("*.layout-meta.xml"):
        sobject = path.name.split("-", 1)[0]
        root = parse(path)
        for item in root.iter(f"{{{NS}}}field"):
            name = item.text or ""
            assert not is_custom(name) or package.field(sobject, name), f"{path.name}: {name}"
        for related in children(root, "relatedLists"):
            child, _, lookup = (child_text(related, "relatedList") or "").partition(".")
            if is_custom(lookup):
                lookup_field = package.field(child, lookup)
                assert lookup_field is not None, path.name
                assert lookup_field.reference_to == sobject, path.name
                for column in children(related, "fields"):
                    name = column.text or ""
                    assert not is_custom(name) or package.field(child, name), path.name


def test_orders_show_their_payments() -> None:
    layout = parse(source_dir(APP) / "layouts" / "Order-Order paybridge Layout.layout-meta.xml")
    related = {child_text(r, "relatedList") for r in children(layout, "relatedLists")}
    assert "CKO_Payment__c.Order__c" in related


def test_the_default_settings_record_sets_every_setting_of_its_type() -> None:
    """PaybridgeSettings reads the record named Default; a field missing from it would silently
    take the Apex fallback, and a value for an unknown field fails the deploy."""
    package = load_package()
    record = parse(source_dir(APP) / "customMetadata" / "Paybridge_Setting.Default.md-meta.xml")
    values = {child_text(v, "field") for v in children(record, "values")}
    assert values == {f.name for f in package.fields_of("Paybridge_Setting__mdt")}


def test_the_integration_user_sees_and_edits_every_record_it_upserts() -> None:
    """With a Private default and an owner queue, a Case the queue owns is invisible to the
    integration user; its next upsert by external ID then inserts and fails DUPLICATE_VALUE.
    View All + Modify All on every object paybridge writes keep each record in sight."""
    _, root = _permission_sets()["Paybridge_Integration"]
    granted = {
        child_text(access, "object")
        for access in children(root, "objectPermissions")
        if child_text(access, "viewAllRecords") == "true"
        and child_text(access, "modifyAllRecords") == "true"
    }
    written = {
        record.sobject for record in load_salesforce_mapping().profiles["custom"].records.values()
    }
    assert written <= granted
