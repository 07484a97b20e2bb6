"""OpenAPI shaping: raw-parsed JSON bodies documented by their models, and the error envelope
instead of FastAPI's default validation-error schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from paybridge.schemas.errors import ErrorEnvelope

_REF = "#/components/schemas/{model}"


def json_request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that parses its body itself (Decimal-exact, card-guarded);
    the model's schema is added to the components by `install_openapi`."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}
            },
        }
    }


def build_openapi(app: FastAPI, body_models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in body_models:
        body_schema = model.model_json_schema(ref_template=_REF, mode="validation")
        components.update(body_schema.pop("$defs", {}))
        components[model.__name__] = body_schema
    envelope = {"$ref": _REF.format(model=ErrorEnvelope.__name__)}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"]["content"] = {"application/json": {"schema": envelope}}
    for default in ("HTTPValidationError", "ValidationError"):
        components.pop(default, None)
    return schema


def install_openapi(app: FastAPI, body_models: Sequence[type[BaseModel]]) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, body_models)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
