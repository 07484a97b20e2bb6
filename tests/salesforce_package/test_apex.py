"""Apex hygiene the org would only report at deploy or test time: every class is tested with a
callout mock, Flow actions call out safely, and the idempotency key comes from System.UUID."""

from __future__ import annotations

import re

from tests.salesforce_package.package import apex_sources, is_test_class, strip_comments


def _split() -> tuple[dict[str, str], dict[str, str]]:
    sources = {name: strip_comments(text) for name, text in apex_sources().items()}
    tests = {name: text for name, text in sources.items() if is_test_class(text)}
    return {n: t for n, t in sources.items() if n not in tests}, tests


def _calls_out(text: str) -> bool:
    return "new PaybridgeClient(" in text or "new Http()" in text


def test_every_class_is_covered_by_a_test_that_sets_a_callout_mock() -> None:
    """Classes that call out need a mocking test; the rest (settings, the log purge) a test."""
    classes, tests = _split()
    assert classes
    assert tests
    mocking = {name: text for name, text in tests.items() if "Test.setMock(" in text}
    for name, source in classes.items():
        candidates = mocking if _calls_out(source) else tests
        users = [t for t, text in candidates.items() if re.search(rf"\b{name}\b", text)]
        assert users, f"no test class (using Test.setMock if it calls out) references {name}"


def test_every_test_class_of_code_that_calls_out_sets_the_mock() -> None:
    classes, tests = _split()
    calling = [name for name, text in classes.items() if _calls_out(text)]
    for name, text in tests.items():
        if "implements HttpCalloutMock" in text or not re.search(r"@IsTest\s+static void", text):
            continue  # test support (the mock, the test users), not a class of tests
        if not any(re.search(rf"\b{c}\b", text) for c in calling):
            continue  # tests code that never calls out (settings, the log purge)
        assert "Test.setMock(HttpCalloutMock.class" in text, name


def test_flow_actions_call_out_safely_and_are_bulk_tested() -> None:
    classes, tests = _split()
    invocables = {n: t for n, t in classes.items() if "@InvocableMethod" in t}
    assert set(invocables) >= {
        "PaybridgeCaptureAction",
        "PaybridgeVoidAction",
        "PaybridgeRefundAction",
        "PaybridgeAcceptDisputeAction",
        "PaybridgeTakePayment",
    }
    for name, text in invocables.items():
        annotation = re.search(r"@InvocableMethod\((.*?)\)\s*public", text, re.S)
        assert annotation is not None, name
        assert re.search(r"\bcallout\s*=\s*true\b", annotation.group(1)), name
        # One result per input: List<Request> in, List<Result> out.
        assert re.search(r"static List<[\w.]+> \w+\(\s*List<[\w.]*Request> ", text), name
        # Some test calls the action itself (the tests pass two or more inputs per call).
        assert any(re.search(rf"\b{name}\.\w+\(", t) for t in tests.values()), name


def test_queueable_allows_callouts_and_keys_come_from_uuid() -> None:
    classes, _ = _split()
    assert "implements Queueable, Database.AllowsCallouts" in classes["PaybridgeCalloutJob"]
    assert "UUID.randomUUID().toString()" in classes["PaybridgeIdempotency"]
    client = classes["PaybridgeClient"]
    assert "request.setHeader('Idempotency-Key', idempotencyKey)" in client
    assert "request.setHeader('X-API-Key'" not in client, "the Named Credential adds the key"


def test_every_test_of_user_mode_code_runs_as_a_user_holding_paybridge_user() -> None:
    """A production deploy runs the tests as the deploying user before any permission set is
    assigned; only a runAs user holding Paybridge_User sees what the package grants."""
    _, tests = _split()
    helper = tests["PaybridgeTestUsers"]
    assert "Name = 'Paybridge_User'" in helper
    assert "insert new PermissionSetAssignment(" in helper
    assert "System.runAs(new User(Id = UserInfo.getUserId()))" in helper  # no mixed DML
    for name, text in tests.items():
        methods = re.split(r"@IsTest\s+static void ", text)[1:]
        if name == "PaybridgeClientTest":  # HTTP only: reads and writes no records
            continue
        # Admin-run code: the purge runs as the admin who schedules it; settings read no records.
        user = (
            "System.runAs(new User(Id = UserInfo.getUserId()))"
            if name in {"PaybridgeLogPurgeTest", "PaybridgeSettingsTest"}
            else "System.runAs(PaybridgeTestUsers.payer())"
        )
        for method in methods:
            # An admin schedules jobs; a test that schedules one may run as the admin.
            admin = "System.schedule(" in method
            expected = "System.runAs(new User(Id = UserInfo.getUserId()))" if admin else user
            # A refusal test runs as a user deliberately without access (`outsider`).
            assert expected in method or "System.runAs(outsider)" in method, (name, method[:60])
