"""OpenAPI shaping: raw-parsed JSON bodies documented by their models, the error envelope
instead of FastAPI's default validation-error schema, and the document-level parts (tags,
servers, security schemes, examples) integrators and generators rely on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from paybridge.api.openapi_examples import success_example
from paybridge.api.openapi_meta import (
    CALLER_SECURITY,
    CONTACT,
    SECURITY_SCHEMES,
    SERVERS,
    TAGS,
    error_example,
)
from paybridge.schemas.errors import ErrorEnvelope

_REF = "#/components/schemas/{model}"


def json_request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route that parses its body itself (Decimal-exact, card-guarded);
    the model's schema is added to the components by `install_openapi`."""
    media: dict[str, Any] = {"schema": {"$ref": _REF.format(model=model.__name__)}}
    examples = model.model_json_schema().get("examples", [])
    if examples:
        media["examples"] = {f"example{n}": {"value": v} for n, v in enumerate(examples, 1)}
    return {"requestBody": {"required": True, "content": {"application/json": media}}}


def build_openapi(app: FastAPI, body_models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=TAGS,
        servers=SERVERS,
        contact=CONTACT,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in body_models:
        body_schema = model.model_json_schema(ref_template=_REF, mode="validation")
        components.update(body_schema.pop("$defs", {}))
        components[model.__name__] = body_schema
    schema["components"]["securitySchemes"] = SECURITY_SCHEMES
    envelope = {"$ref": _REF.format(model=ErrorEnvelope.__name__)}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"]["content"] = {"application/json": {"schema": envelope}}
            for status, response in responses.items():
                example = error_example(status) or success_example(operation["operationId"], status)
                if example is not None:
                    response["content"]["application/json"]["example"] = example
            _declare_security(operation)
    for default in ("HTTPValidationError", "ValidationError"):
        components.pop(default, None)
    return schema


def _declare_security(operation: dict[str, Any]) -> None:
    """`require_api_key` documents its credential headers (`x-api-key`, `authorization`) as
    parameters; the security schemes say the same in the form generators understand (OpenAPI
    ignores an `Authorization` parameter anyway), so they replace them. Other routes (the
    webhook authenticates by its own headers, operations by none) declare no scheme."""
    parameters = operation.get("parameters", [])
    caller = any(p["in"] == "header" and p["name"] == "x-api-key" for p in parameters)
    credentials = {"x-api-key", "authorization"} if caller else set()
    kept = [p for p in parameters if not (p["in"] == "header" and p["name"] in credentials)]
    operation["security"] = CALLER_SECURITY if caller else []
    if kept:
        operation["parameters"] = kept
    else:
        operation.pop("parameters", None)


def install_openapi(app: FastAPI, body_models: Sequence[type[BaseModel]]) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, body_models)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
