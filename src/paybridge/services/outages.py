"""Which failures are outages: a provider or the database away, not the task's own fault.

An outage postpones a task without spending its attempts (DESIGN principle 8); only what
belongs to the task itself (a validation error, a refusal, a mapping error) counts.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from paybridge.adapters.checkout.errors import CheckoutError
from paybridge.adapters.salesforce.errors import SalesforceRateLimited, SalesforceTransientError
from paybridge.errors import UpstreamUnavailable

_PROVIDER_AWAY = (SalesforceTransientError, SalesforceRateLimited, UpstreamUnavailable)
# The database unreachable or its pool exhausted (asyncpg's own connection errors are OSErrors).
_DATABASE_AWAY = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    OSError,
    TimeoutError,
)


def is_outage(error: BaseException) -> bool:
    """Checkout.com unreachable, 408/429/5xx or busy with the same key; Salesforce 5xx,
    timeouts, a locked row or its API limit; the database away."""
    if isinstance(error, CheckoutError):
        return error.is_transient or isinstance(error, UpstreamUnavailable)
    return isinstance(error, (*_PROVIDER_AWAY, *_DATABASE_AWAY))
