"""Every metric the alert rules (and the dashboard) name is one `/metrics` exports: a renamed
metric would otherwise silence an alert without any error."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.project_files import DEPLOY, load_yaml_documents

_METRIC = re.compile(r"\bpaybridge_[a-z0-9_]+")
_ROUTE_LABEL = re.compile(r'route="([^"]+)"')
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}


async def exported_names(client: httpx.AsyncClient) -> set[str]:
    """Sample names /metrics can carry, from each family's HELP/TYPE (present before any
    sample is recorded)."""
    text = (await client.get("/metrics")).text
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in _SUFFIXES[family.type]
    }


def alert_expressions() -> list[str]:
    (rules,) = load_yaml_documents(DEPLOY / "prometheus" / "alerts.yml")
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


async def test_alert_rules_name_only_exported_metrics(client: httpx.AsyncClient) -> None:
    named = {name for expr in alert_expressions() for name in _METRIC.findall(expr)}
    assert len(named) >= 7
    assert named - await exported_names(client) == set()


def dashboard_panels() -> list[dict[str, Any]]:
    dashboard = json.loads((DEPLOY / "grafana" / "paybridge.json").read_text(encoding="utf-8"))
    panels: list[dict[str, Any]] = dashboard["panels"]
    return panels


async def test_every_dashboard_query_names_exported_metrics(client: httpx.AsyncClient) -> None:
    exported = await exported_names(client)
    for panel in dashboard_panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            named = set(_METRIC.findall(target["expr"]))
            assert named, target["expr"]
            assert named - exported == set(), panel["title"]


def test_dashboard_route_labels_are_routes_of_the_app(app: FastAPI) -> None:
    paths = {getattr(route, "path", None) for route in app.routes}
    for panel in dashboard_panels():
        for target in panel["targets"]:
            assert set(_ROUTE_LABEL.findall(target["expr"])) <= paths, target["expr"]


def test_dashboard_covers_what_operators_watch() -> None:
    """Intake, outcomes, queues, Salesforce allocation and Checkout.com errors (issue 18)."""
    queried = " ".join(t["expr"] for panel in dashboard_panels() for t in panel["targets"])
    for metric in (
        "paybridge_webhooks_total",
        "paybridge_http_request_seconds_bucket",
        "paybridge_worker_tasks_total",
        "paybridge_outbox_waiting_tasks",
        "paybridge_outbox_oldest_waiting_seconds",
        "paybridge_salesforce_api_calls_total",
        "paybridge_salesforce_api_usage",
        "paybridge_checkout_call_seconds_bucket",
        "paybridge_checkout_calls_total",
    ):
        assert metric in queried
