"""A stateful in-process Salesforce (ASGI): OAuth, upsert, composite, collections.

Use it through `httpx.ASGITransport(app=sim.app)` or mounted in the sandbox. It stores
records (`sim.records[sobject][record_id]`), validates fields against a schema derived from
the mapping file, counts API calls the way an org does (a composite or collections request is
one call; token requests are counted apart), sets `Sforce-Limit-Info`, and has knobs for the
failures paybridge must survive.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paybridge.mapping.salesforce_fields import SalesforceMapping, load_salesforce_mapping
from paybridge.sandbox.salesforce_batches import BatchResources
from paybridge.sandbox.salesforce_payments import NOTIFY_PATH, PaymentsPlatform
from paybridge.sandbox.salesforce_schema import (
    KEY_PREFIXES,
    REQUEST_BYTES_LIMIT,
    FieldSpec,
    Result,
    error_body,
    json_response,
    schema_from_mapping,
)

_SOQL = re.compile(
    r"SELECT (?P<fields>[\w, ]+) FROM (?P<sobject>\w+)(?: WHERE (?P<where>.+))?", re.IGNORECASE
)
_CONDITION = re.compile(r"(\w+) = '([^']*)'")
_IN_CONDITION = re.compile(r"(\w+) IN \(([^)]*)\)", re.IGNORECASE)
# The run-as user of the simulated External Client App (the token response's identity URL).
INTEGRATION_USER_ID = "005000000000001AAA"


class SalesforceSimulator(BatchResources):
    """In-memory org. Knobs: `fail_next`, `lock_rows_next`, `request_limit_exceeded`,
    `restricted_picklists`, `latency_s`, `expire_tokens`, `api_limit`, `multi_currency`,
    and the integration user's permissions (`records["ObjectPermissions"]`, …); `payments`:
    the Commerce Payments platform and its gateway notification endpoint."""

    def __init__(
        self,
        *,
        schema: dict[str, dict[str, FieldSpec]] | None = None,
        mapping: SalesforceMapping | None = None,
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",  # noqa: S107 - a simulator's own
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
        # sObjects the integration user may not query (e.g. ObjectPermissions without View
        # Setup and Configuration): SOQL on them answers 400 INVALID_TYPE.
        self.unqueryable: set[str] = set()
        self._fail_next = 0
        self._fail_status = 503
        self._lock_rows_next = 0
        self._next_id = 0
        if "Case" in self.schema:  # the package's dispute record type, as deployed
            self.seed("RecordType", {"SobjectType": "Case", "DeveloperName": "Payment_Dispute"})
        self.permission_set_id = self._grant_view_and_modify_all()
        # The Commerce Payments side (Site URL of the gateway adapter's notifications).
        self.payments = PaymentsPlatform()
        self.app = Starlette(
            routes=[
                Route(NOTIFY_PATH, self.payments.notify_endpoint, methods=["POST"]),
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

    def multi_currency(self, *currencies: str) -> None:
        """Turn on multiple currencies: every object gains CurrencyIsoCode, a restricted
        picklist of the active `currencies` (as the Object Reference describes the field)."""
        for sobject, fields in self.schema.items():
            fields["CurrencyIsoCode"] = FieldSpec("picklist")
            self.restricted_picklists[(sobject, "CurrencyIsoCode")] = set(currencies)

    def _grant_view_and_modify_all(self) -> str:
        """The integration user's permission set (Paybridge_Integration, assigned): View All
        and Modify All on every object of the schema, as the package grants them."""
        permission_set_id = self.seed(
            "PermissionSet",
            {
                "Name": "Paybridge_Integration",
                "PermissionsViewAllData": False,
                "PermissionsModifyAllData": False,
            },
        )
        self.seed(
            "PermissionSetAssignment",
            {"AssigneeId": INTEGRATION_USER_ID, "PermissionSetId": permission_set_id},
        )
        for sobject in self.schema:
            self.seed(
                "ObjectPermissions",
                {
                    "ParentId": permission_set_id,
                    "SobjectType": sobject,
                    "PermissionsViewAllRecords": True,
                    "PermissionsModifyAllRecords": True,
                },
            )
        return permission_set_id

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
            return json_response(400, body)
        return json_response(
            200,
            {
                "access_token": self.issue_token(),
                "instance_url": self.instance_url,
                "id": f"{self.instance_url}/id/00D000000000001AAA/{INTEGRATION_USER_ID}",
                "token_type": "Bearer",
                "issued_at": "1700000000000",
                "signature": "c2ltdWxhdGVk",
                "scope": "api",
            },
        )

    async def _versions_endpoint(self, request: Request) -> Response:
        version = self.api_version
        return json_response(
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
        # Mounted (the sandbox): the org's own path starts after the mount point.
        raw_path = raw_path.removeprefix(request.scope.get("root_path", "").encode())
        self.request_log.append((method, raw_path.decode()))
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            expired = error_body("INVALID_SESSION_ID", "Session expired or invalid")
            return json_response(401, expired)
        if self.request_limit_exceeded or self.api_calls >= self.api_limit:
            return self._counted(
                403, error_body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            )
        self.api_calls += 1
        if self._fail_next > 0:
            self._fail_next -= 1
            return self._counted(
                self._fail_status, error_body("SERVER_UNAVAILABLE", "Server unavailable")
            )
        raw = await request.body()
        if len(raw) > REQUEST_BYTES_LIMIT:
            message = f"request body of {len(raw)} bytes exceeds {REQUEST_BYTES_LIMIT}"
            return self._counted(413, error_body("REQUEST_ENTITY_TOO_LARGE", message))
        body = json.loads(raw, parse_float=Decimal) if raw else None
        segments = [unquote(part) for part in raw_path.decode().split("/")[3:]]
        if method == "GET" and segments[1:] == ["query"]:
            status, payload = self._query(request.query_params.get("q", ""))
        else:
            status, payload = self._dispatch(method, segments, body, top_level=True)
        return self._counted(status, payload)

    def _counted(self, status: int, payload: Any) -> Response:
        response = json_response(status, payload)
        response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_calls}/{self.api_limit}"
        return response

    # --- the REST resources, shared by top-level calls and composite subrequests ------------

    def _dispatch(self, method: str, segments: list[str], body: Any, *, top_level: bool) -> Result:
        if not segments or not segments[0].startswith("v"):
            return 404, error_body("NOT_FOUND", "The requested resource does not exist")
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
                return (200, row) if found else (404, error_body("NOT_FOUND", "no such record"))
            case ("PATCH", ["sobjects", sobject, ext_field, ext_value]):
                return self._upsert(sobject, ext_field, ext_value, body or {})
            case ("PATCH", ["sobjects", sobject, record_id]):
                return self._update(sobject, record_id, body or {})
            case ("POST", ["composite"]) if top_level:
                return self._composite(body or {})
            case ("PATCH", ["composite", "sobjects", sobject, ext_field]):
                return self._collections_upsert(sobject, ext_field, body or {})
            case ("PATCH", ["composite", "sobjects"]):
                return self._collections_update(body or {})
        return 404, error_body("NOT_FOUND", "The requested resource does not exist")

    def _query(self, soql: str) -> Result:
        """SOQL of the shapes paybridge sends: `SELECT f, … FROM X WHERE a = 'v' AND b IN
        ('v', …) AND …`."""
        match = _SOQL.fullmatch(soql.strip())
        if match is None:
            return 400, error_body("MALFORMED_QUERY", f"unsupported by the simulator: {soql}")
        if match["sobject"] in self.unqueryable:
            message = f"sObject type '{match['sobject']}' is not supported."
            return 400, error_body("INVALID_TYPE", message)
        fields = [name.strip() for name in match["fields"].split(",")]
        where = match["where"] or ""
        conditions = {name: {value} for name, value in _CONDITION.findall(where)}
        for name, values in _IN_CONDITION.findall(where):
            conditions[name] = {value.strip().strip("'") for value in values.split(",")}
        rows = [
            row
            for row in self.records.get(match["sobject"], {}).values()
            if all(row.get(name) in values for name, values in conditions.items())
        ]
        records = [
            {"attributes": {"type": match["sobject"]}, **{name: row.get(name) for name in fields}}
            for row in rows
        ]
        return 200, {"totalSize": len(records), "done": True, "records": records}

    def _describe(self, sobject: str) -> Result:
        fields = self.schema.get(sobject)
        if fields is None:
            return 404, error_body("NOT_FOUND", "The requested resource does not exist")
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
            return 404, error_body("NOT_FOUND", "The requested resource does not exist")
        spec = fields.get(ext_field)
        if spec is None or not (spec.external_id or ext_field == "Id"):
            message = f"Provided external ID field does not exist or is not accessible: {ext_field}"
            return 404, error_body("NOT_FOUND", message)
        if ext_field in body or "Id" in body:
            message = f"{ext_field} is the upsert key; it may not be in the request body"
            return 400, error_body("INVALID_FIELD", message, [ext_field])
        resolved, errors = self._resolve(sobject, body)
        if errors:
            return 400, errors
        if self._lock_rows_next > 0:
            self._lock_rows_next -= 1
            return 400, error_body(
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
            return 404, error_body("NOT_FOUND", "The requested resource does not exist")
        resolved, errors = self._resolve(sobject, body)
        if errors:
            return 400, errors
        if self._lock_rows_next > 0:
            self._lock_rows_next -= 1
            return 400, error_body(
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
                    return {}, error_body("INVALID_FIELD", error, [name])
                resolved[by_relationship[name]] = parent_id
                continue
            if name not in fields:
                message = f"No such column '{name}' on sobject of type {sobject}"
                return {}, error_body("INVALID_FIELD", message, [name])
            allowed = self.restricted_picklists.get((sobject, name))
            if allowed is not None and value not in allowed:
                message = f"{name}: bad value for restricted picklist field: {value}"
                return {}, error_body("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, [name])
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

    def _new_id(self, sobject: str) -> str:
        self._next_id += 1
        prefix = KEY_PREFIXES.get(sobject) or f"a0{sum(map(ord, sobject)) % 10}"
        return f"{prefix}{self._next_id:012d}AAA"
