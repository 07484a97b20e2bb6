"""The webhook route is served by a plain Starlette route ahead of FastAPI's router."""

from __future__ import annotations

from fastapi import FastAPI

from paybridge.api import webhooks


def test_fast_route_is_matched_first_and_documented(app: FastAPI) -> None:
    assert app.router.routes[0] is webhooks.FAST_ROUTE
    operation = app.openapi()["paths"]["/v1/webhooks/checkout"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["Cko-Signature", "Authorization"]
    assert operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorEnvelope"
    )
