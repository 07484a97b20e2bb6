"""The Salesforce simulator lives in the package (`paybridge.sandbox`); tests import it here."""

from __future__ import annotations

from paybridge.sandbox.salesforce_schema import FieldSpec, schema_from_mapping
from paybridge.sandbox.salesforce_sim import SalesforceSimulator

__all__ = ["FieldSpec", "SalesforceSimulator", "schema_from_mapping"]
