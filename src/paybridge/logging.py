"""structlog JSON logging: correlation id on every line, redaction as a safety net.

Code never passes secrets or personal data to a log call; the redaction processor exists
for the day someone forgets.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from paybridge.domain.cards import looks_like_card_number

SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api_key",
        "api_keys",
        "secret",
        "secret_key",
        "client_secret",
        "password",
        "token",
        "access_token",
        "cko-signature",
        "signature",
        "email",
        "phone",
        "name",
        "first_name",
        "last_name",
        "firstname",
        "lastname",
        "address_line1",
        "address_line2",
        "billingstreet",
        "cvv",
        "number",
    }
)
_SECRET_SHAPES = re.compile(r"\b(sk|pk)_(sbox_|test_)?[A-Za-z0-9-]{8,}\b")
_EMAIL = re.compile(r"[^\s@\"']+@[^\s@\"']+\.[A-Za-z]{2,}")
REDACTED = "[redacted]"


def redact_value(value: Any) -> Any:
    """Mask secrets, e-mail addresses and card numbers inside any nested value."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in SENSITIVE_KEYS else redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    if isinstance(value, str):
        # Cheap pre-checks first: this runs on every value of every log line.
        digits = len(value) >= 13 and sum(map(str.isdigit, value)) >= 13
        if digits and looks_like_card_number(value):
            return REDACTED
        if "k_" in value:
            value = _SECRET_SHAPES.sub(REDACTED, value)
        if "@" in value:
            value = _EMAIL.sub(REDACTED, value)
        return value
    return value


def redaction_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key == "event":
            continue
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    """Idempotent: JSON lines on stdout, contextvars (correlation id) merged into each."""
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper(), force=True)
    # httpx logs every request line in plain text; paybridge logs its calls itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            redaction_processor,  # before the timestamp, which never needs it
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        # No file given: each line goes to whatever `sys.stdout` is when it is written, not
        # to the stream that happened to be current at configuration time.
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
