"""The webhook route is registered once, matched before any other route, and documented."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

WEBHOOK_PATH = "/v1/webhooks/checkout"


def test_the_webhook_route_is_registered_once_and_matched_first(app: FastAPI) -> None:
    serving = [route for route in app.router.routes if getattr(route, "path", None) == WEBHOOK_PATH]
    assert len(serving) == 1
    assert serving[0] is app.router.routes[0]
    assert isinstance(serving[0], APIRoute)
    assert serving[0].dependant.dependencies == []  # nothing to solve per delivery


def test_the_webhook_route_is_documented(app: FastAPI) -> None:
    operation = app.openapi()["paths"][WEBHOOK_PATH]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["Cko-Signature", "Authorization"]
    assert operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorEnvelope"
    )
