"""Every metric the alert rules (and the dashboard) name is one `/metrics` exports: a renamed
metric would otherwise silence an alert without any error."""

from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.project_files import DEPLOY, load_yaml_documents

_METRIC = re.compile(r"\bpaybridge_[a-z0-9_]+")
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
