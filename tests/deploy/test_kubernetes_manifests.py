"""The Kubernetes manifests run the image's real commands with settings that exist, keep
secrets out of the repository, and hold the production guarantees the design asks for.
(`deploy/scripts/check` renders them and validates every object against the schemas.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paybridge.api.health import router as health_router
from tests.deploy.project_files import (
    DEPLOY,
    dockerfile_instructions,
    documented_settings,
    is_cli_command,
    load_yaml_documents,
    read_env_file,
    secret_settings,
)

BASE = DEPLOY / "kubernetes" / "base"
OVERLAYS = sorted(p for p in (DEPLOY / "kubernetes" / "overlays").iterdir() if p.is_dir())


def base_objects() -> list[dict[str, Any]]:
    kustomization = load_yaml_documents(BASE / "kustomization.yaml")[0]
    return [doc for name in kustomization["resources"] for doc in load_yaml_documents(BASE / name)]


def by_kind_and_name(kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in base_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def workloads() -> Iterator[dict[str, Any]]:
    return (o for o in base_objects() if o["kind"] in ("Deployment", "Job"))


def config_files() -> list[Path]:
    return [
        BASE / "config.env",
        *(o / "config.env" for o in OVERLAYS if (o / "config.env").exists()),
    ]


@pytest.mark.parametrize("obj", list(workloads()), ids=lambda o: o["metadata"]["name"])
def test_every_container_runs_a_paybridge_command(obj: dict[str, Any]) -> None:
    for container in pod_spec(obj)["containers"]:
        assert is_cli_command(container["command"]), container["command"]


def test_the_three_entry_points_are_deployed() -> None:
    commands = {
        json.dumps(c["command"][:2]) for o in workloads() for c in pod_spec(o)["containers"]
    }
    assert commands == {
        '["paybridge", "serve"]',
        '["paybridge", "worker"]',
        '["paybridge", "migrate"]',
    }


@pytest.mark.parametrize("path", config_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_config_names_exist_and_hold_no_secret(path: Path) -> None:
    names = set(read_env_file(path))
    assert names - documented_settings() == set()
    assert names & secret_settings() == set()


@pytest.mark.parametrize("obj", list(workloads()), ids=lambda o: o["metadata"]["name"])
def test_settings_come_from_the_configmap_and_the_secret_by_reference(obj: dict[str, Any]) -> None:
    for container in pod_spec(obj)["containers"]:
        sources = container["envFrom"]
        assert {"configMapRef": {"name": "paybridge-config"}} in sources
        assert {"secretRef": {"name": "paybridge-secrets"}} in sources
        for variable in container.get("env", []):
            assert variable["name"] in documented_settings()
            assert variable["name"] not in secret_settings()


def test_no_secret_object_or_value_is_committed() -> None:
    every_file = [*BASE.glob("*.yaml"), *(p for o in OVERLAYS for p in o.glob("*.yaml"))]
    for path in every_file:
        for doc in load_yaml_documents(path):
            assert doc.get("kind") != "Secret", path
            assert "secretGenerator" not in doc, path


@pytest.mark.parametrize("obj", list(workloads()), ids=lambda o: o["metadata"]["name"])
def test_containers_are_non_root_read_only_and_without_capabilities(obj: dict[str, Any]) -> None:
    pod = pod_spec(obj)
    image_user = dict(dockerfile_instructions())["USER"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == (
        image_user
    )
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"]
        assert container["resources"]["limits"]["memory"]


def test_api_runs_replicated_without_the_embedded_worker_and_probes_real_routes() -> None:
    api = by_kind_and_name("Deployment", "paybridge-api")
    (container,) = pod_spec(api)["containers"]
    routes = {getattr(route, "path", None) for route in health_router.routes}
    assert api["spec"]["replicas"] >= 2
    assert {"name": "PAYBRIDGE_WORKER__EMBEDDED", "value": "false"} in container["env"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= routes
    exposed = dict(dockerfile_instructions())["EXPOSE"]
    assert [str(p["containerPort"]) for p in container["ports"]] == [exposed]
    assert container["command"][-1] == exposed


def test_worker_metrics_port_is_declared_and_open_to_scrapes() -> None:
    """The worker's counters (task outcomes, Salesforce allocation) exist only in it."""
    worker = by_kind_and_name("Deployment", "paybridge-worker")
    (container,) = pod_spec(worker)["containers"]
    command = container["command"]
    port = int(command[command.index("--metrics-port") + 1])
    assert [p["containerPort"] for p in container["ports"]] == [port]
    policy = by_kind_and_name("NetworkPolicy", "paybridge-worker-ingress")
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [port]


def test_worker_gets_a_grace_period_longer_than_a_lease() -> None:
    """A worker killed before it releases its claims strands them until the lease ends."""
    worker = by_kind_and_name("Deployment", "paybridge-worker")
    lease_s = float(read_env_file(BASE / "config.env")["PAYBRIDGE_WORKER__LEASE_S"])
    assert worker["spec"]["replicas"] >= 2
    assert pod_spec(worker)["terminationGracePeriodSeconds"] >= lease_s


def test_disruption_budgets_autoscalers_and_network_policies_select_real_pods() -> None:
    components = {
        o["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for o in base_objects()
        if o["kind"] == "Deployment"
    }
    deployments = {o["metadata"]["name"] for o in base_objects() if o["kind"] == "Deployment"}
    for obj in base_objects():
        if obj["kind"] == "PodDisruptionBudget":
            assert obj["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] in (
                components
            )
        if obj["kind"] == "HorizontalPodAutoscaler":
            assert obj["spec"]["scaleTargetRef"]["name"] in deployments
            assert obj["spec"]["minReplicas"] >= 2
    kinds = {o["kind"] for o in base_objects()}
    assert {"Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"} <= kinds


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlays_pin_an_image_and_name_the_migration_job_per_release(overlay: Path) -> None:
    kustomization = load_yaml_documents(overlay / "kustomization.yaml")[0]
    (image,) = kustomization["images"]
    job_patches = [p for p in kustomization["patches"] if p["target"]["kind"] == "Job"]
    assert image["newTag"] not in ("", "latest")
    assert any(image["newTag"].replace(".", "-") in p["patch"] for p in job_patches)
