"""Salesforce record ids: 15 case-sensitive or 18 case-insensitive alphanumerics."""

from __future__ import annotations

import re

_SALESFORCE_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def is_salesforce_id(value: str) -> bool:
    return bool(_SALESFORCE_ID.match(value))
