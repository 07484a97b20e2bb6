"""Salesforce REST adapter: OAuth token provider, typed client, wire models and errors."""

from paybridge.adapters.salesforce.auth import (
    AccessToken,
    ClientCredentialsFlow,
    JwtBearerFlow,
    TokenProvider,
)
from paybridge.adapters.salesforce.client import SalesforceClient, default_retry_policy
from paybridge.adapters.salesforce.errors import (
    SalesforceAuthError,
    SalesforceError,
    SalesforceMultipleMatches,
    SalesforcePermanentError,
    SalesforceRateLimited,
    SalesforceTransientError,
    SalesforceUnavailable,
)
from paybridge.adapters.salesforce.models import (
    CompositeResult,
    CompositeSubrequest,
    RecordResult,
    SalesforceErrorItem,
    UpsertResult,
    collection_record,
    collection_update_record,
    record_subrequests,
)

__all__ = [
    "AccessToken",
    "ClientCredentialsFlow",
    "CompositeResult",
    "CompositeSubrequest",
    "JwtBearerFlow",
    "RecordResult",
    "SalesforceAuthError",
    "SalesforceClient",
    "SalesforceError",
    "SalesforceErrorItem",
    "SalesforceMultipleMatches",
    "SalesforcePermanentError",
    "SalesforceRateLimited",
    "SalesforceTransientError",
    "SalesforceUnavailable",
    "TokenProvider",
    "UpsertResult",
    "collection_record",
    "collection_update_record",
    "default_retry_policy",
    "record_subrequests",
]
