"""docker-compose.yml agrees with the Dockerfile and the CLI: it cannot be run here (no
container runtime), so both files are parsed and compared."""

from __future__ import annotations

import re
from typing import Any

from tests.deploy.project_files import (
    ROOT,
    dockerfile_instructions,
    documented_settings,
    is_cli_command,
    load_yaml_documents,
    secret_settings,
)


def compose() -> dict[str, Any]:
    return load_yaml_documents(ROOT / "docker-compose.yml")[0]


def paybridge_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if s.get("build") == "."}


def test_it_runs_postgres_one_migration_two_apis_and_two_workers() -> None:
    commands = sorted(" ".join(s["command"][:2]) for s in paybridge_services().values())
    assert commands == [
        "paybridge migrate",
        "paybridge serve",
        "paybridge serve",
        "paybridge worker",
        "paybridge worker",
    ]
    assert compose()["services"]["postgres"]["image"].startswith("postgres:")


def test_every_command_exists_and_every_variable_is_documented() -> None:
    for service in paybridge_services().values():
        assert is_cli_command(service["command"]), service["command"]
        assert set(service["environment"]) - documented_settings() == set()


def test_secrets_come_from_the_caller_never_from_the_file() -> None:
    for service in paybridge_services().values():
        for name in secret_settings() & set(service["environment"]):
            assert re.search(r"\$\{[A-Z_]+[:?-]", service["environment"][name]), name


def test_apis_listen_where_the_image_exposes_and_wait_for_the_migration() -> None:
    instructions = dict(dockerfile_instructions())
    for service in paybridge_services().values():
        if service["command"][1] == "migrate":
            assert service["depends_on"] == {"postgres": {"condition": "service_healthy"}}
            continue
        assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
        assert service["environment"]["PAYBRIDGE_WORKER__EMBEDDED"] == "false"
        if service["command"][1] == "serve":
            assert service["command"][-1] == instructions["EXPOSE"]
            assert all(port.endswith(f":{instructions['EXPOSE']}") for port in service["ports"])


def test_the_image_healthcheck_applies_only_where_http_is_served() -> None:
    """The Dockerfile's HEALTHCHECK calls /healthz: a worker or a migration serves no HTTP."""
    assert "/healthz" in dict(dockerfile_instructions())["HEALTHCHECK"]
    for service in paybridge_services().values():
        serves_http = service["command"][1] == "serve"
        assert ("healthcheck" not in service) is serves_http


def test_containers_run_read_only_without_capabilities() -> None:
    for service in paybridge_services().values():
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "/tmp" in service["tmpfs"]
