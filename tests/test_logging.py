"""The redaction processor: a safety net for secrets and personal data in log lines."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from paybridge.domain.redaction import REDACTED
from paybridge.logging import configure_logging, redact_value


def test_nested_values_are_masked() -> None:
    masked = redact_value(
        {
            "note": "contact ana@example.com about 4242 4242 4242 4242",
            "key": "using sk_sbox_abcdefghijkl for now",
            "email": "bob@example.com",
            "Authorization": "Bearer xyz",
            "items": [{"name": "Ana"}, "plain"],
            "amount": 14990,
        }
    )
    assert masked == {
        "note": REDACTED,  # a card number masks the whole value
        "key": f"using {REDACTED} for now",
        "email": REDACTED,
        "Authorization": REDACTED,
        "items": [{"name": REDACTED}, "plain"],
        "amount": 14990,
    }


def test_iban_and_order_numbers_stay_readable() -> None:
    assert redact_value("IBAN NL91ABNA0417164300, order 00000100") == (
        "IBAN NL91ABNA0417164300, order 00000100"
    )


def test_log_lines_are_json_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    structlog.get_logger("t").info(
        "checkout.payment.created", email="ana@example.com", detail="card 4242424242424242"
    )
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "checkout.payment.created"
    assert line["email"] == REDACTED
    assert line["detail"] == REDACTED
    assert line["level"] == "info"


def test_standard_library_lines_and_their_tracebacks_are_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uvicorn and SQLAlchemy log through `logging`, not structlog: same redaction."""
    configure_logging("INFO", secrets=["configured-api-key-0123456789"])
    try:
        raise ValueError("bad input ana@example.com with configured-api-key-0123456789")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    out = capsys.readouterr().out
    assert "Traceback" in out
    assert "ValueError: bad input" in out
    assert "ana@example.com" not in out
    assert "configured-api-key-0123456789" not in out


def test_structlog_tracebacks_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", secrets=["configured-api-key-0123456789"])
    try:
        raise RuntimeError("card 4242 4242 4242 4242 key configured-api-key-0123456789")
    except RuntimeError:
        structlog.get_logger("t").exception("request.crashed")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "RuntimeError: card [redacted] key [redacted]" in line["exception"]
