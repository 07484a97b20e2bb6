"""structlog JSON logging: correlation id on every line, redaction as a safety net.

Code never passes secrets or personal data to a log call; the redaction processor exists
for the day someone forgets. It runs after exceptions are formatted (a traceback quotes
values too), over the standard library's log lines as well (uvicorn, SQLAlchemy), and masks
the configured secrets by value besides anything shaped like a key, an e-mail or a card.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import structlog

from paybridge.domain.cards import looks_like_card_number
from paybridge.domain.redaction import EMAIL, REDACTED, SECRET_SHAPES, TextRedactor

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
# Free text that may quote anything (tracebacks, exception messages): masked piece by piece.
_TEXT_KEYS = frozenset({"exception", "error", "stack"})


def redact_value(value: Any) -> Any:
    """Mask secrets, e-mail addresses and card numbers inside any nested value."""
    if isinstance(value, str):
        # Cheap pre-checks first: this runs on every value of every log line.
        digits = len(value) >= 13 and sum(map(str.isdigit, value)) >= 13
        if digits and looks_like_card_number(value):
            return REDACTED
        if "k_" in value:
            value = SECRET_SHAPES.sub(REDACTED, value)
        if "@" in value:
            value = EMAIL.sub(REDACTED, value)
        return value
    if isinstance(value, int | float | None):  # most other values; no ABC check for them
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in SENSITIVE_KEYS else redact_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


class Redactor:
    """The redaction of one process: shapes everywhere, plus its configured secrets."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._text = TextRedactor(secrets)

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            value = event_dict[key]
            if key.lower() in SENSITIVE_KEYS:
                event_dict[key] = REDACTED
            elif isinstance(value, str) and (key == "event" or key in _TEXT_KEYS):
                event_dict[key] = self._text(value)
            else:
                event_dict[key] = self._secrets_masked(redact_value(value))
        return event_dict

    def _secrets_masked(self, value: Any) -> Any:
        if not self._text.secrets:
            return value
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, Mapping):
            return {k: self._secrets_masked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._secrets_masked(item) for item in value]
        return value


class RedactingFormatter(logging.Formatter):
    """Standard-library log lines (uvicorn, SQLAlchemy, asyncio), tracebacks included,
    pass through the same redaction as paybridge's own."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("%(message)s")
        self._text = TextRedactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self._text(super().format(record))


def configure_logging(level: str = "INFO", *, secrets: Iterable[str] = ()) -> None:
    """Idempotent: JSON lines on stdout, contextvars (correlation id) merged into each;
    `secrets` (the configured keys, `Settings.secret_values()`) are masked wherever they show."""
    secrets = tuple(secrets)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(RedactingFormatter(secrets))
    logging.basicConfig(handlers=[handler], level=level.upper(), force=True)
    # httpx logs every request line in plain text; paybridge logs its calls itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            # Tracebacks are text by now, so redaction sees what they quote.
            structlog.processors.format_exc_info,
            Redactor(secrets),  # before the timestamp, which never needs it
            structlog.processors.TimeStamper(fmt="iso", utc=True),
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
