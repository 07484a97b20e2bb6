"""Webhook authenticity: the `Cko-Signature` HMAC and the optional static `Authorization` header.

Always computed over the raw request bytes (re-serialized JSON changes the digest) and compared
in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


def compute_signature(raw: bytes, key: str) -> str:
    """Lowercase hex HMAC-SHA256 of `raw`, keyed with the workflow's signature key."""
    return hmac.new(key.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def verify_signature(raw: bytes, header: str | None, keys: Sequence[str]) -> bool:
    """True when `header` is the signature of `raw` under any of `keys` (rotation).

    Whitespace around the header and uppercase hex are tolerated; empty keys never match.
    """
    if not header:
        return False
    try:
        presented = header.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    matched = False
    for key in keys:
        if key:
            expected = compute_signature(raw, key).encode("ascii")
            # No early exit: the time taken does not reveal which key matched.
            matched |= hmac.compare_digest(expected, presented)
    return matched


def verify_authorization(header: str | None, expected: str | None) -> bool:
    """True when no static header is configured, or `header` equals it exactly."""
    if expected is None:
        return True
    if header is None:
        return False
    return hmac.compare_digest(header.encode("utf-8"), expected.encode("utf-8"))
