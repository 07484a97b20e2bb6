"""Composite and sObject Collections resources of the simulated org (one API call each)."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import unquote

from paybridge.sandbox.salesforce_schema import (
    COLLECTIONS_LIMIT,
    COMPOSITE_COLLECTIONS_LIMIT,
    COMPOSITE_LIMIT,
    Result,
    error_body,
)


class BatchResources:
    """`POST /composite`, `PATCH /composite/sobjects[/{type}/{ext}]`, over the single-record
    resources the simulator defines."""

    records: dict[str, dict[str, dict[str, Any]]]

    def _dispatch(self, method: str, segments: list[str], body: Any, *, top_level: bool) -> Result:
        raise NotImplementedError

    def _upsert(self, sobject: str, ext_field: str, ext_value: str, body: dict[str, Any]) -> Result:
        raise NotImplementedError

    def _update(self, sobject: str, record_id: str, body: dict[str, Any]) -> Result:
        raise NotImplementedError

    def _composite(self, body: dict[str, Any]) -> Result:
        subrequests = body.get("compositeRequest") or []
        if len(subrequests) > COMPOSITE_LIMIT:
            message = f"Too many subrequests ({len(subrequests)}); the limit is {COMPOSITE_LIMIT}"
            return 400, error_body("LIMIT_EXCEEDED", message)
        collections = sum(
            "/composite/sobjects" in str(sub.get("url", "")) or "/query" in str(sub.get("url", ""))
            for sub in subrequests
        )
        if collections > COMPOSITE_COLLECTIONS_LIMIT:
            message = (
                f"Too many sObject Collections or query subrequests ({collections}); "
                f"the limit is {COMPOSITE_COLLECTIONS_LIMIT}"
            )
            return 400, error_body("LIMIT_EXCEEDED", message)
        all_or_none = bool(body.get("allOrNone"))
        snapshot = copy.deepcopy(self.records) if all_or_none else None
        results: list[dict[str, Any]] = []
        failed = False
        for sub in subrequests:
            if failed and all_or_none:
                status, payload = (
                    400,
                    error_body("PROCESSING_HALTED", "The transaction was rolled back"),
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
            halted = error_body("PROCESSING_HALTED", "The transaction was rolled back")
            for result in results:
                if result["httpStatusCode"] < 300:
                    result.update(body=halted, httpHeaders={}, httpStatusCode=400)
        return 200, {"compositeResponse": results}

    def _collections_upsert(self, sobject: str, ext_field: str, body: dict[str, Any]) -> Result:
        records = body.get("records") or []
        if len(records) > COLLECTIONS_LIMIT:
            message = "record limit reached. cannot submit more than 200 records into this call"
            return 400, error_body("EXCEEDED_ID_LIMIT", message)
        types = {(record.get("attributes") or {}).get("type") for record in records}
        if types - {sobject}:
            message = f"every record must be of type {sobject}; got {sorted(map(str, types))}"
            return 400, error_body("INVALID_TYPE", message)
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
                payload = error_body("DUPLICATE_EXTERNAL_ID", "external ID matches several records")
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
            return 400, error_body("EXCEEDED_ID_LIMIT", message)
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
