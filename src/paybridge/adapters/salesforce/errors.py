"""Typed Salesforce failures, classified from the `[{"message","errorCode","fields"}]` body.

SalesforceError (UpstreamError)
├── SalesforceAuthError         token refused, or 401 again after one refresh
├── SalesforceRateLimited       403 REQUEST_LIMIT_EXCEEDED: pause syncing for minutes, don't retry
├── SalesforceTransientError    UNABLE_TO_LOCK_ROW, 5xx, timeouts: retried with backoff
│   └── SalesforceUnavailable   still transient after the retry policy gave up
└── SalesforcePermanentError    validation / field / picklist / not found: park the row
    └── SalesforceMultipleMatches  300: the external ID matched several records
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from paybridge.adapters.salesforce.models import SalesforceErrorItem
from paybridge.errors import UpstreamError

REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
INVALID_SESSION_ID = "INVALID_SESSION_ID"
# errorCodes that mean "try again shortly", whatever the HTTP status says.
TRANSIENT_ERROR_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"})


class SalesforceError(UpstreamError):
    """A Salesforce call failed; `error_code`/`fields` come from the first error in the body."""

    default_code: ClassVar[str] = "salesforce_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        errors: Sequence[SalesforceErrorItem] = (),
    ) -> None:
        super().__init__(message=message, code=self.default_code)
        self.status_code = status_code
        self.errors = list(errors)

    @property
    def error_code(self) -> str | None:
        return self.errors[0].error_code if self.errors else None

    @property
    def fields(self) -> list[str]:
        return self.errors[0].fields if self.errors else []


class SalesforceAuthError(SalesforceError):
    default_code = "salesforce_auth_failed"


class SalesforceRateLimited(SalesforceError):
    default_code = "salesforce_rate_limited"
    http_status = 503


class SalesforceTransientError(SalesforceError):
    default_code = "salesforce_transient"
    http_status = 503


class SalesforceUnavailable(SalesforceTransientError):
    default_code = "salesforce_unavailable"


class SalesforcePermanentError(SalesforceError):
    default_code = "salesforce_rejected"


class SalesforceMultipleMatches(SalesforcePermanentError):
    """HTTP 300: nothing was written; `urls` lists the matching records."""

    default_code = "salesforce_multiple_matches"

    def __init__(self, message: str, *, urls: Sequence[str]) -> None:
        super().__init__(message, status_code=300)
        self.urls = list(urls)


def error_for(status_code: int, errors: Sequence[SalesforceErrorItem]) -> SalesforceError:
    """The typed error for a non-2xx status and its parsed error items."""
    codes = {item.error_code for item in errors}
    detail = "; ".join(f"{item.error_code}: {item.message}" for item in errors)
    message = f"Salesforce answered {status_code}" + (f" ({detail})" if detail else "")
    if status_code == 401:
        return SalesforceAuthError(message, status_code=status_code, errors=errors)
    if REQUEST_LIMIT_EXCEEDED in codes:
        return SalesforceRateLimited(message, status_code=status_code, errors=errors)
    if codes & TRANSIENT_ERROR_CODES or status_code >= 500 or status_code in (408, 429):
        return SalesforceTransientError(message, status_code=status_code, errors=errors)
    return SalesforcePermanentError(message, status_code=status_code, errors=errors)
