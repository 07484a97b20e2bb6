"""The signature on paybridge's gateway notifications, as the package's Apex verifies it.

`Paybridge-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each v1 the lowercase hex
HMAC-SHA256 of `<t>.<raw body>` with one notification secret (several during a rotation).
The timestamp is inside the signed text, so a captured notification is refused once it is
older than the tolerance (the org checks it; paybridge signs afresh on every attempt).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "Paybridge-Signature"
TOLERANCE_S = 300


def signature(raw: bytes, secret: str, *, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + raw
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(raw: bytes, secrets: Sequence[str], *, timestamp: int) -> str:
    """The header value: the timestamp and one v1 per secret."""
    if not secrets:
        raise ValueError("at least one notification secret is needed to sign")
    parts = [f"t={timestamp}"] + [f"v1={signature(raw, s, timestamp=timestamp)}" for s in secrets]
    return ",".join(parts)


def verify_signature_header(
    header: str | None, raw: bytes, secret: str, *, now: int, tolerance_s: int = TOLERANCE_S
) -> bool:
    """Constant-time check of any v1 against `secret`, within the tolerance of `now`."""
    if not header or not secret:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value.lower())
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(raw, secret, timestamp=timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
