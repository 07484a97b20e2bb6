"""A stateful in-process Salesforce (ASGI) for tests: OAuth, upsert, composite, collections.

Use it through `httpx.ASGITransport(app=sim.app)`. It stores records (`sim.records[sobject]
[record_id]`), validates fields against a schema derived from the mapping file, counts API
calls the way an org does (a composite or collections request is one call; token requests are
counted apart), sets `Sforce-Limit-Info`, and has knobs for the failures paybridge must survive.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paybridge.adapters.salesforce.models import encode_json
from paybridge.mapping.salesforce_fields import (
    RELATIONSHIP_TYPES,
    FieldType,
    SalesforceMapping,
    load_salesforce_mapping,
)

Result = tuple[int, Any]
COMPOSITE_LIMIT = 25
COLLECTIONS_LIMIT = 200
_KEY_PREFIXES = {
    "Account": "001",
    "Case": "500",
    "Order": "801",
    "Payment": "0Xt",
    "PaymentAuthorization": "0Xc",
    "PaymentGatewayLog": "0Xg",
    "Refund": "0Xr",
}
_DESCRIBE_TYPES = {
    FieldType.TEXT: "string",
    FieldType.LONG_TEXT: "textarea",
    FieldType.NUMBER: "double",
    FieldType.CURRENCY: "currency",
    FieldType.CHECKBOX: "boolean",
    FieldType.DATETIME: "datetime",
    FieldType.DATE: "date",
    FieldType.PICKLIST: "picklist",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    type: str
    external_id: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None


def _error(code: str, message: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code, "fields": fields or []}]


def _id_field_of(relationship: str) -> str:
    """`Payment__r` → `Payment__c`; `PaymentAuthorization` → `PaymentAuthorizationId`."""
    return relationship[:-3] + "__c" if relationship.endswith("__r") else relationship + "Id"


def schema_from_mapping(mapping: SalesforceMapping) -> dict[str, dict[str, FieldSpec]]:
    """The fields every mapped sObject has, with external IDs and relationships marked."""
    schema: dict[str, dict[str, FieldSpec]] = {}
    external: set[tuple[str, str]] = set()
    for profile in mapping.profiles.values():
        for record in profile.records.values():
            fields = schema.setdefault(record.sobject, {"Id": FieldSpec("id")})
            for name in record.constants:
                fields[name] = FieldSpec("picklist")
            if record.sobject == "Case":
                fields["RecordTypeId"] = FieldSpec("reference", reference_to="RecordType")
                fields["OwnerId"] = FieldSpec("reference", reference_to="Group")
            if record.key_field:
                external.add((record.sobject, record.key_field))
            for mapped in record.fields.values():
                if mapped.type in RELATIONSHIP_TYPES:
                    relationship = mapped.name if mapped.via_external_id else None
                    field_name = _id_field_of(mapped.name) if relationship else mapped.name
                    fields[field_name] = FieldSpec(
                        "reference", reference_to=mapped.references, relationship_name=relationship
                    )
                    if mapped.references and mapped.via_external_id:
                        external.add((mapped.references, mapped.via_external_id))
                else:
                    fields[mapped.name] = FieldSpec(_DESCRIBE_TYPES[mapped.type])
    for sobject, name in external:
        schema.setdefault(sobject, {"Id": FieldSpec("id")})[name] = FieldSpec(
            "string", external_id=True
        )
    return schema


class SalesforceSimulator:
    """In-memory org. Knobs: `fail_next`, `lock_rows_next`, `request_limit_exceeded`,
    `restricted_picklists`, `latency_s`, `expire_tokens`, `api_limit`."""

    def __init__(
        self,
        *,
        schema: dict[str, dict[str, FieldSpec]] | None = None,
        mapping: SalesforceMapping | None = None,
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",
        api_version: str = "66.0",
        instance_url: str = "https://sim.my.salesforce.com",
        api_limit: int = 100_000,
    ) -> None:
        self.schema = schema or schema_from_mapping(mapping or load_salesforce_mapping())
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_version = api_version
        self.instance_url = instance_url
        self.api_limit = api_limit
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schema}
        self.tokens: set[str] = set()
        self.api_calls = 0
        self.token_calls = 0
        self.request_log: list[tuple[str, str]] = []
        self.request_limit_exceeded = False
        self.restricted_picklists: dict[tuple[str, str], set[str]] = {}
        self.latency_s = 0.0
        self._fail_next = 0
        self._fail_status = 503
        self._lock_rows_next = 0
        self._next_id = 0
        self.app = Starlette(
            routes=[
                Route("/services/oauth2/token", self._token_endpoint, methods=["POST"]),
                Route("/services/data/", self._versions_endpoint, methods=["GET"]),
                Route(
                    "/services/data/{rest:path}",
                    self._data_endpoint,
                    methods=["GET", "POST", "PATCH", "DELETE"],
                ),
            ]
        )

    # --- knobs and helpers for tests ------------------------------------------------------

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """The next `count` data API calls answer `status` (SERVER_UNAVAILABLE)."""
        self._fail_next, self._fail_status = count, status

    def lock_rows_next(self, count: int) -> None:
        """The next `count` record writes fail with UNABLE_TO_LOCK_ROW."""
        self._lock_rows_next = count

    def issue_token(self) -> str:
        token = "00Dsim!" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return token

    def expire_tokens(self, token: str | None = None) -> None:
        """Invalidate one token, or all of them (the next data call gets 401)."""
        if token is None:
            self.tokens.clear()
        else:
            self.tokens.discard(token)

    def seed(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create a record directly (e.g. the Order a payment belongs to); returns its Id."""
        record_id = self._new_id(sobject)
        self.records.setdefault(sobject, {})[record_id] = {"Id": record_id, **fields}
        return record_id

    def find(self, sobject: str, field: str, value: Any) -> list[dict[str, Any]]:
        return [row for row in self.records.get(sobject, {}).values() if row.get(field) == value]

    def get(self, sobject: str, field: str, value: Any) -> dict[str, Any] | None:
        rows = self.find(sobject, field, value)
        return rows[0] if len(rows) == 1 else None

    # --- HTTP endpoints ---------------------------------------------------------------------

    async def _token_endpoint(self, request: Request) -> Response:
        self.token_calls += 1
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type")
        accepted = False
        if grant == "client_credentials":
            accepted = (form.get("client_id"), form.get("client_secret")) == (
                self.client_id,
                self.client_secret,
            )
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = jwt.decode(form.get("assertion", ""), options={"verify_signature": False})
            accepted = claims.get("iss") == self.client_id
        if not accepted:
            body = {"error": "invalid_client", "error_description": "invalid client credentials"}
            return _json(400, body)
        return _json(
            200,
            {
                "access_token": self.issue_token(),
                "instance_url": self.instance_url,
                "id": f"{self.instance_url}/id/00Dsim/005sim",
                "token_type": "Bearer",
                "issued_at": "1700000000000",
                "signature": "c2ltdWxhdGVk",
                "scope": "api",
            },
        )

    async def _versions_endpoint(self, request: Request) -> Response:
        version = self.api_version
        return _json(
            200,
            [
                {"version": "65.0", "url": "/services/data/v65.0", "label": "Winter '26"},
                {"version": version, "url": f"/services/data/v{version}", "label": "Spring '26"},
            ],
        )

    async def _data_endpoint(self, request: Request) -> Response:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        method = request.method
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        self.request_log.append((method, raw_path.decode()))
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return _json(401, _error("INVALID_SESSION_ID", "Session expired or invalid"))
        if self.request_limit_exceeded or self.api_calls >= self.api_limit:
            return self._counted(
                403, _error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            )
        self.api_calls += 1
        if self._fail_next > 0:
            self._fail_next -= 1
            return self._counted(
                self._fail_status, _error("SERVER_UNAVAILABLE", "Server unavailable")
            )
        raw = await request.body()
        body = json.loads(raw, parse_float=Decimal) if raw else None
        segments = [unquote(part) for part in raw_path.decode().split("/")[3:]]
        status, payload = self._dispatch(method, segments, body, top_level=True)
        return self._counted(status, payload)

    def _counted(self, status: int, payload: Any) -> Response:
        response = _json(status, payload)
        response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_calls}/{self.api_limit}"
        return response

    # --- the REST resources, shared by top-level calls and composite subrequests ------------

    def _dispatch(self, method: str, segments: list[str], body: Any, *, top_level: bool) -> Result:
        if not segments or not segments[0].startswith("v"):
            return 404, _error("NOT_FOUND", "The requested resource does not exist")
        route = segments[1:]
        match (method, route):
            case ("GET", ["limits"]):
                remaining = self.api_limit - self.api_calls
                return 200, {"DailyApiRequests": {"Max": self.api_limit, "Remaining": remaining}}
            case ("GET", ["sobjects", sobject, "describe"]):
                return self._describe(sobject)
            case ("GET", ["sobjects", sobject, record_id]):
                row = self.records.get(sobject, {}).get(record_id)
                found = row is not None
                return (200, row) if found else (404, _error("NOT_FOUND", "no such record"))
            case ("PATCH", ["sobjects", sobject, ext_field, ext_value]):
                return self._upsert(sobject, ext_field, ext_value, body or {})
            case ("PATCH", ["sobjects", sobject, record_id]):
                return self._update(sobject, record_id, body or {})
            case ("POST", ["composite"]) if top_level:
                return self._composite(body or {})
            case ("PATCH", ["composite", "sobjects", sobject, ext_field]) if top_level:
                return self._collections_upsert(sobject, ext_field, body or {})
            case ("PATCH", ["composite", "sobjects"]) if top_level:
                return self._collections_update(body or {})
        return 404, _error("NOT_FOUND", "The requested resource does not exist")

    def _describe(self, sobject: str) -> Result:
        fields = self.schema.get(sobject)
        if fields is None:
            return 404, _error("NOT_FOUND", "The requested resource does not exist")
        described = []
        for name, spec in fields.items():
            allowed = sorted(self.restricted_picklists.get((sobject, name), set()))
            described.append(
                {
                    "name": name,
                    "type": spec.type,
                    "externalId": spec.external_id,
                    "nillable": name != "Id",
                    "restrictedPicklist": bool(allowed),
                    "picklistValues": [{"value": value, "active": True} for value in allowed],
                    "referenceTo": [spec.reference_to] if spec.reference_to else [],
                    "relationshipName": spec.relationship_name,
                }
            )
        return 200, {"name": sobject, "fields": described}

    def _upsert(self, sobject: str, ext_field: str, ext_value: str, body: dict[str, Any]) -> Result:
        fields = self.schema.get(sobject)
        if fields is None:
            return 404, _error("NOT_FOUND", "The requested resource does not exist")
        spec = fields.get(ext_field)
        if spec is None or not (spec.external_id or ext_field == "Id"):
            message = f"Provided external ID field does not exist or is not accessible: {ext_field}"
            return 404, _error("NOT_FOUND", message)
        if ext_field in body or "Id" in body:
            message = f"{ext_field} is the upsert key; it may not be in the request body"
            return 400, _error("INVALID_FIELD", message, [ext_field])
        resolved, errors = self._resolve(sobject, body)
        if errors:
            return 400, errors
        if self._lock_rows_next > 0:
            self._lock_rows_next -= 1
            return 400, _error(
                "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
            )
        matches = [row for row in self.records[sobject].values() if row.get(ext_field) == ext_value]
        if len(matches) > 1:
            base = f"/services/data/v{self.api_version}/sobjects/{sobject}"
            return 300, [f"{base}/{row['Id']}" for row in matches]
        if matches:
            matches[0].update(resolved)
            return 200, {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
        record_id = self._new_id(sobject)
        self.records[sobject][record_id] = {"Id": record_id, ext_field: ext_value, **resolved}
        return 201, {"id": record_id, "success": True, "errors": [], "created": True}

    def _update(self, sobject: str, record_id: str, body: dict[str, Any]) -> Result:
        row = self.records.get(sobject, {}).get(record_id)
        if sobject not in self.schema or row is None:
            return 404, _error("NOT_FOUND", "The requested resource does not exist")
        resolved, errors = self._resolve(sobject, body)
        if errors:
            return 400, errors
        if self._lock_rows_next > 0:
            self._lock_rows_next -= 1
            return 400, _error(
                "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
            )
        row.update(resolved)
        return 204, None

    def _resolve(
        self, sobject: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Check every field exists, picklists hold allowed values, and resolve `X__r` refs."""
        fields = self.schema[sobject]
        by_relationship = {
            spec.relationship_name: name for name, spec in fields.items() if spec.relationship_name
        }
        resolved: dict[str, Any] = {}
        for name, value in body.items():
            if name == "attributes":
                continue
            if name in by_relationship:
                target = fields[by_relationship[name]]
                parent_id, error = self._parent_id(target.reference_to or "", value)
                if error:
                    return {}, _error("INVALID_FIELD", error, [name])
                resolved[by_relationship[name]] = parent_id
                continue
            if name not in fields:
                message = f"No such column '{name}' on sobject of type {sobject}"
                return {}, _error("INVALID_FIELD", message, [name])
            allowed = self.restricted_picklists.get((sobject, name))
            if allowed is not None and value not in allowed:
                message = f"{name}: bad value for restricted picklist field: {value}"
                return {}, _error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, [name])
            resolved[name] = value
        return resolved, []

    def _parent_id(self, parent: str, value: Any) -> tuple[str | None, str | None]:
        if not isinstance(value, dict) or len(value) != 1:
            return None, "a relationship must name exactly one external ID field"
        ((field, key),) = value.items()
        rows = self.find(parent, field, key)
        if len(rows) != 1:
            return (
                None,
                f"Foreign key external ID: {key} not found for field {field} in entity {parent}",
            )
        return str(rows[0]["Id"]), None

    def _composite(self, body: dict[str, Any]) -> Result:
        subrequests = body.get("compositeRequest") or []
        if len(subrequests) > COMPOSITE_LIMIT:
            message = f"Too many subrequests ({len(subrequests)}); the limit is {COMPOSITE_LIMIT}"
            return 400, _error("LIMIT_EXCEEDED", message)
        all_or_none = bool(body.get("allOrNone"))
        snapshot = copy.deepcopy(self.records) if all_or_none else None
        results: list[dict[str, Any]] = []
        failed = False
        for sub in subrequests:
            if failed and all_or_none:
                status, payload = (
                    400,
                    _error("PROCESSING_HALTED", "The transaction was rolled back"),
                )
            else:
                segments = [unquote(part) for part in str(sub.get("url", "")).split("/")[3:]]
                status, payload = self._dispatch(
                    str(sub.get("method", "GET")), segments, sub.get("body"), top_level=False
                )
                failed = failed or status >= 300
            headers: dict[str, str] = {}
            if status == 201 and isinstance(payload, dict):
                headers["Location"] = f"{sub.get('url')}"
            results.append(
                {
                    "body": payload,
                    "httpHeaders": headers,
                    "httpStatusCode": status,
                    "referenceId": sub.get("referenceId"),
                }
            )
        if failed and snapshot is not None:
            self.records = snapshot
            halted = _error("PROCESSING_HALTED", "The transaction was rolled back")
            for result in results:
                if result["httpStatusCode"] < 300:
                    result.update(body=halted, httpHeaders={}, httpStatusCode=400)
        return 200, {"compositeResponse": results}

    def _collections_upsert(self, sobject: str, ext_field: str, body: dict[str, Any]) -> Result:
        records = body.get("records") or []
        if len(records) > COLLECTIONS_LIMIT:
            message = "record limit reached. cannot submit more than 200 records into this call"
            return 400, _error("EXCEEDED_ID_LIMIT", message)
        types = {(record.get("attributes") or {}).get("type") for record in records}
        if types - {sobject}:
            message = f"every record must be of type {sobject}; got {sorted(map(str, types))}"
            return 400, _error("INVALID_TYPE", message)
        all_or_none = bool(body.get("allOrNone"))
        snapshot = copy.deepcopy(self.records) if all_or_none else None
        results: list[dict[str, Any]] = []
        for record in records:
            fields = {k: v for k, v in record.items() if k not in ("attributes", ext_field)}
            status, payload = self._upsert(sobject, ext_field, str(record.get(ext_field)), fields)
            if status < 300:
                results.append(payload)
                continue
            if status == 300:
                payload = _error("DUPLICATE_EXTERNAL_ID", "external ID matches several records")
            errors = [
                {"statusCode": e["errorCode"], "message": e["message"], "fields": e["fields"]}
                for e in payload
            ]
            results.append({"success": False, "errors": errors})
        if snapshot is not None and not all(result["success"] for result in results):
            self.records = snapshot
            rolled_back = {
                "success": False,
                "errors": [
                    {
                        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "message": "Record rolled back because not all records were valid",
                        "fields": [],
                    }
                ],
            }
            results = [result if not result["success"] else rolled_back for result in results]
        return 200, results

    def _collections_update(self, body: dict[str, Any]) -> Result:
        """`PATCH /composite/sobjects`: up to 200 records by `id`, mixed types allowed."""
        records = body.get("records") or []
        if len(records) > COLLECTIONS_LIMIT:
            message = "record limit reached. cannot submit more than 200 records into this call"
            return 400, _error("EXCEEDED_ID_LIMIT", message)
        results: list[dict[str, Any]] = []
        for record in records:
            sobject = str((record.get("attributes") or {}).get("type"))
            record_id = str(record.get("id") or record.get("Id") or "")
            fields = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
            status, payload = self._update(sobject, record_id, fields)
            if status < 300:
                results.append({"id": record_id, "success": True, "errors": []})
                continue
            errors = [
                {"statusCode": e["errorCode"], "message": e["message"], "fields": e["fields"]}
                for e in payload
            ]
            results.append({"id": record_id, "success": False, "errors": errors})
        return 200, results

    def _new_id(self, sobject: str) -> str:
        self._next_id += 1
        prefix = _KEY_PREFIXES.get(sobject) or f"a0{sum(map(ord, sobject)) % 10}"
        return f"{prefix}{self._next_id:012d}AAA"


def _json(status: int, payload: Any) -> Response:
    if payload is None:
        return Response(status_code=status)
    return Response(encode_json(payload), status_code=status, media_type="application/json")
