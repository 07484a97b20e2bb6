"""`CheckoutClient`: the typed async Checkout.com API calls paybridge makes, with safe retries.

A call is retried only when repeating it cannot charge twice: a GET, PUT or PATCH, or a
request carrying a `Cko-Idempotency-Key` (the same key on every attempt). Only transient
failures are retried (no answer, 408, 429, 5xx), within the injected `RetryPolicy`. Every
attempt is logged and reported to the optional `on_call` hook, without bodies or secrets.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import structlog
from pydantic import BaseModel, TypeAdapter, ValidationError

from paybridge.adapters.checkout.errors import (
    REQUEST_ID_HEADER,
    CheckoutError,
    CheckoutUnexpectedResponse,
    error_from_response,
    error_from_transport,
)
from paybridge.adapters.checkout.financial_actions import (
    FINANCIAL_ACTIONS_PAGE_MAX,
    FinancialAction,
    FinancialActionPage,
)
from paybridge.adapters.checkout.models import (
    PAYMENT_ACTIONS,
    ActionAcceptedResponse,
    CaptureRequest,
    Dispute,
    FileUploadResponse,
    PaymentAction,
    PaymentDetails,
    PaymentLinkCreated,
    PaymentLinkDetails,
    PaymentLinkRequest,
    PaymentList,
    PaymentRequest,
    PaymentResponse,
    RefundRequest,
    VoidRequest,
)
from paybridge.adapters.http import USER_AGENT, RetryPolicy, build_retrying

log = structlog.get_logger(__name__)

IDEMPOTENCY_HEADER = "Cko-Idempotency-Key"
DISPUTE_EVIDENCE_PURPOSE = "dispute_evidence"
_IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "PATCH"})

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class CheckoutCallRecord:
    """One attempt of one Checkout.com call, for audit logs and metrics (no bodies, no keys).

    `http_status` is None when no answer came back; `error_code` is the paybridge error code
    of a failed attempt (`upstream_unavailable`, …), None on success.
    """

    operation: str
    method: str
    path: str
    http_status: int | None
    duration_ms: float
    request_id: str | None
    idempotency_key: str | None
    error_code: str | None
    attempt: int


OnCall = Callable[[CheckoutCallRecord], Awaitable[None]]


def _segment(value: str) -> str:
    """An id as one URL path segment, so a hostile id cannot reach another endpoint."""
    return quote(value, safe="")


def _parse(adapter: TypeAdapter[T] | type[M], response: httpx.Response, operation: str) -> Any:
    try:
        if isinstance(adapter, TypeAdapter):
            return adapter.validate_json(response.content)
        return adapter.model_validate_json(response.content)
    except ValidationError as error:
        raise CheckoutUnexpectedResponse(
            f"Checkout.com answered HTTP {response.status_code} with a body paybridge cannot "
            f"read ({operation}: {error.error_count()} problems)",
            operation=operation,
            upstream_status=response.status_code,
            request_id=response.headers.get(REQUEST_ID_HEADER),
        ) from error


class CheckoutClient:
    """Typed Checkout.com API client over an injected `httpx.AsyncClient` (base URL set there).

    `secret_key` is the NAS `sk_…` key sent as `Bearer`; every method takes an optional
    `secret_key` override (per-market keys).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        secret_key: str,
        retry_policy: RetryPolicy,
        on_call: OnCall | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._http = http
        self._secret_key = secret_key
        self._policy = retry_policy
        self._on_call = on_call
        self._user_agent = user_agent

    # --- payments ---------------------------------------------------------------------------

    async def create_payment(
        self, request: PaymentRequest, *, idempotency_key: str, secret_key: str | None = None
    ) -> PaymentResponse:
        """201: processed (a decline is a 201 too: check `approved`); 202: see `redirect_url`."""
        response = await self._call(
            "payment.create",
            "POST",
            "/payments",
            json=request.to_wire(),
            idempotency_key=idempotency_key,
            secret_key=secret_key,
        )
        parsed: PaymentResponse = _parse(PaymentResponse, response, "payment.create")
        return parsed

    async def capture(
        self,
        payment_id: str,
        request: CaptureRequest,
        *,
        idempotency_key: str,
        secret_key: str | None = None,
    ) -> ActionAcceptedResponse:
        return await self._action("capture", payment_id, request, idempotency_key, secret_key)

    async def void(
        self,
        payment_id: str,
        request: VoidRequest,
        *,
        idempotency_key: str,
        secret_key: str | None = None,
    ) -> ActionAcceptedResponse:
        return await self._action("void", payment_id, request, idempotency_key, secret_key)

    async def refund(
        self,
        payment_id: str,
        request: RefundRequest,
        *,
        idempotency_key: str,
        secret_key: str | None = None,
    ) -> ActionAcceptedResponse:
        return await self._action("refund", payment_id, request, idempotency_key, secret_key)

    async def get_payment(
        self, payment_id: str, *, secret_key: str | None = None
    ) -> PaymentDetails:
        """Accepts a `pay_…` id or the `sid_…` session id of a 3DS/APM redirect."""
        path = f"/payments/{_segment(payment_id)}"
        response = await self._call("payment.get", "GET", path, secret_key=secret_key)
        parsed: PaymentDetails = _parse(PaymentDetails, response, "payment.get")
        return parsed

    async def get_payment_actions(
        self, payment_id: str, *, secret_key: str | None = None
    ) -> list[PaymentAction]:
        path = f"/payments/{_segment(payment_id)}/actions"
        response = await self._call("payment.actions", "GET", path, secret_key=secret_key)
        parsed: list[PaymentAction] = _parse(PAYMENT_ACTIONS, response, "payment.actions")
        return parsed

    async def list_payments_by_reference(
        self, reference: str, *, limit: int = 10, skip: int = 0, secret_key: str | None = None
    ) -> PaymentList:
        """Finds a payment whose create call timed out (beta endpoint, newest first)."""
        params: dict[str, str | int] = {"reference": reference, "limit": limit, "skip": skip}
        response = await self._call(
            "payment.list", "GET", "/payments", params=params, secret_key=secret_key
        )
        parsed: PaymentList = _parse(PaymentList, response, "payment.list")
        return parsed

    # --- financial actions ------------------------------------------------------------------

    async def list_financial_actions(
        self,
        *,
        payment_id: str | None = None,
        action_id: str | None = None,
        limit: int = FINANCIAL_ACTIONS_PAGE_MAX,
        pagination_token: str | None = None,
        secret_key: str | None = None,
    ) -> FinancialActionPage:
        """One page of `GET /financial-actions` for a payment or an action (the spec needs
        one of the two)."""
        if (payment_id is None) == (action_id is None):
            raise ValueError("give exactly one of payment_id and action_id")
        params: dict[str, str | int] = {"limit": min(max(limit, 1), FINANCIAL_ACTIONS_PAGE_MAX)}
        if payment_id is not None:
            params["payment_id"] = payment_id
        if action_id is not None:
            params["action_id"] = action_id
        if pagination_token is not None:
            params["pagination_token"] = pagination_token
        response = await self._call(
            "financial_actions.list",
            "GET",
            "/financial-actions",
            params=params,
            secret_key=secret_key,
        )
        parsed: FinancialActionPage = _parse(
            FinancialActionPage, response, "financial_actions.list"
        )
        return parsed

    async def financial_actions_of_payment(
        self, payment_id: str, *, max_pages: int = 20, secret_key: str | None = None
    ) -> list[FinancialAction]:
        """Every page of a payment's financial actions. Each page is its own retried GET;
        the walk stops at the last page, a repeated token, or `max_pages`."""
        found: list[FinancialAction] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(max_pages):
            page = await self.list_financial_actions(
                payment_id=payment_id, pagination_token=token, secret_key=secret_key
            )
            found += page.data
            token = page.next_token
            if token is None or token in seen or not page.data:
                break
            seen.add(token)
        return found

    # --- payment links ----------------------------------------------------------------------

    async def create_payment_link(
        self, request: PaymentLinkRequest, *, idempotency_key: str, secret_key: str | None = None
    ) -> PaymentLinkCreated:
        response = await self._call(
            "payment_link.create",
            "POST",
            "/payment-links",
            json=request.to_wire(),
            idempotency_key=idempotency_key,
            secret_key=secret_key,
        )
        parsed: PaymentLinkCreated = _parse(PaymentLinkCreated, response, "payment_link.create")
        return parsed

    async def get_payment_link(
        self, link_id: str, *, secret_key: str | None = None
    ) -> PaymentLinkDetails:
        path = f"/payment-links/{_segment(link_id)}"
        response = await self._call("payment_link.get", "GET", path, secret_key=secret_key)
        parsed: PaymentLinkDetails = _parse(PaymentLinkDetails, response, "payment_link.get")
        return parsed

    # --- disputes ---------------------------------------------------------------------------

    async def get_dispute(self, dispute_id: str, *, secret_key: str | None = None) -> Dispute:
        path = f"/disputes/{_segment(dispute_id)}"
        response = await self._call("dispute.get", "GET", path, secret_key=secret_key)
        parsed: Dispute = _parse(Dispute, response, "dispute.get")
        return parsed

    async def accept_dispute(
        self,
        dispute_id: str,
        *,
        idempotency_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        """204 on success; retried only when an idempotency key is given."""
        path = f"/disputes/{_segment(dispute_id)}/accept"
        await self._call(
            "dispute.accept", "POST", path, idempotency_key=idempotency_key, secret_key=secret_key
        )

    async def provide_dispute_evidence(
        self, dispute_id: str, evidence: Mapping[str, str], *, secret_key: str | None = None
    ) -> None:
        """Saves evidence (Checkout.com names: `invoice_or_receipt_file`…); submit sends it."""
        path = f"/disputes/{_segment(dispute_id)}/evidence"
        await self._call(
            "dispute.evidence.provide", "PUT", path, json=dict(evidence), secret_key=secret_key
        )

    async def submit_dispute_evidence(
        self, dispute_id: str, *, secret_key: str | None = None
    ) -> None:
        """Submits the saved evidence to the scheme; it cannot be changed afterwards."""
        path = f"/disputes/{_segment(dispute_id)}/evidence"
        await self._call("dispute.evidence.submit", "POST", path, secret_key=secret_key)

    async def upload_file(
        self,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        secret_key: str | None = None,
    ) -> FileUploadResponse:
        """Uploads dispute evidence (PDF, JPEG or PNG ≤ 4 MB) to the main API host."""
        response = await self._call(
            "file.upload",
            "POST",
            "/files",
            files={"file": (filename, content, content_type)},
            data={"purpose": DISPUTE_EVIDENCE_PURPOSE},
            secret_key=secret_key,
        )
        parsed: FileUploadResponse = _parse(FileUploadResponse, response, "file.upload")
        return parsed

    # --- plumbing ---------------------------------------------------------------------------

    async def _action(
        self,
        kind: str,
        payment_id: str,
        request: CaptureRequest | VoidRequest | RefundRequest,
        idempotency_key: str,
        secret_key: str | None,
    ) -> ActionAcceptedResponse:
        operation = f"payment.{kind}"
        response = await self._call(
            operation,
            "POST",
            f"/payments/{_segment(payment_id)}/{kind}s",
            json=request.to_wire(),
            idempotency_key=idempotency_key,
            secret_key=secret_key,
        )
        parsed: ActionAcceptedResponse = _parse(ActionAcceptedResponse, response, operation)
        return parsed

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        secret_key: str | None = None,
    ) -> httpx.Response:
        """Send with retries; return the 2xx response or raise the last `CheckoutError`."""
        headers = {
            "Authorization": f"Bearer {secret_key or self._secret_key}",
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        # GET, PUT and PATCH state the result, so repeating them is harmless; repeating a
        # POST without a key could create a second payment, action, file or workflow.
        repeatable = method in _IDEMPOTENT_METHODS or idempotency_key is not None

        def should_retry(error: BaseException) -> bool:
            return repeatable and isinstance(error, CheckoutError) and error.is_transient

        def retry_after(error: BaseException) -> float | None:
            return error.retry_after_s if isinstance(error, CheckoutError) else None

        retrying = build_retrying(self._policy, should_retry=should_retry, retry_after=retry_after)
        async for attempt in retrying:
            with attempt:
                request = self._http.build_request(
                    method, path, headers=headers, json=json, params=params, files=files, data=data
                )
                return await self._attempt(
                    request,
                    operation=operation,
                    path=path,
                    idempotency_key=idempotency_key,
                    attempt=attempt.retry_state.attempt_number,
                )
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(
        self,
        request: httpx.Request,
        *,
        operation: str,
        path: str,
        idempotency_key: str | None,
        attempt: int,
    ) -> httpx.Response:
        started = time.perf_counter()

        async def finish(response: httpx.Response | None, error: CheckoutError | None) -> None:
            record = CheckoutCallRecord(
                operation=operation,
                method=request.method,
                path=path,
                http_status=response.status_code if response is not None else None,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                request_id=(error.request_id if error is not None else None)
                or (response.headers.get(REQUEST_ID_HEADER) if response is not None else None),
                idempotency_key=idempotency_key,
                error_code=error.code if error is not None else None,
                attempt=attempt,
            )
            self._log(record, error)
            await self._report(record)

        try:
            response = await self._http.send(request)
        except httpx.TransportError as transport_error:
            unavailable = error_from_transport(transport_error, operation=operation)
            await finish(None, unavailable)
            raise unavailable from transport_error
        if response.is_success:
            await finish(response, None)
            return response
        error = error_from_response(response, operation=operation)
        await finish(response, error)
        raise error

    @staticmethod
    def _log(record: CheckoutCallRecord, error: CheckoutError | None) -> None:
        fields = {
            "operation": record.operation,
            "method": record.method,
            "path": record.path,
            "http_status": record.http_status,
            "duration_ms": record.duration_ms,
            "cko_request_id": record.request_id,
            "idempotency_key": record.idempotency_key,
            "attempt": record.attempt,
        }
        if error is None:
            log.info("checkout.request.completed", **fields)
        else:
            log.warning(
                "checkout.request.failed",
                **fields,
                error_code=error.code,
                error_type=error.error_type,
                error_codes=error.error_codes,
            )

    async def _report(self, record: CheckoutCallRecord) -> None:
        if self._on_call is None:
            return
        try:
            await self._on_call(record)
        except Exception:
            # Audit is best effort here: a broken hook must not turn a charge into an error.
            log.exception("checkout.on_call.failed", operation=record.operation)
