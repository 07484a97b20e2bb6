"""Masking secrets and personal data inside free text (tracebacks, upstream error messages)
before it is logged or stored: keys by value and by shape, e-mail addresses, card numbers."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from paybridge.domain.cards import looks_like_card_number

REDACTED = "[redacted]"
SECRET_SHAPES = re.compile(r"\b(sk|pk)_(sbox_|test_)?[A-Za-z0-9-]{8,}\b")
EMAIL = re.compile(r"[^\s@\"']+@[^\s@\"']+\.[A-Za-z]{2,}")
# A run of digit groups, with its leading "+" if any (that makes it a phone number).
_DIGIT_RUN = re.compile(r"\+?(?<!\d)\d+(?:[ -]\d+)*")
# Some run of 13 or more digits and separators: only then is any run worth a look.
_LONG_RUN = re.compile(r"\d[\d -]{11,}\d")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask configured secrets, key shapes, e-mail addresses and card numbers inside free
    text (a traceback, an upstream error message), keeping the rest readable."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    if "k_" in text:
        text = SECRET_SHAPES.sub(REDACTED, text)
    if "@" in text:
        text = EMAIL.sub(REDACTED, text)
    if sum(map(str.isdigit, text)) >= 13 and _LONG_RUN.search(text):
        text = _DIGIT_RUN.sub(_mask_card, text)
    return text


def _mask_card(match: re.Match[str]) -> str:
    run = match.group()
    # Most runs are short (the groups of a UUID, a date): no card fits in under 13 characters.
    return REDACTED if len(run) >= 13 and looks_like_card_number(run) else run


Redact = Callable[[str], str]


class TextRedactor:
    """`redact_text` bound to one process's configured secrets (longest first, so a secret
    that contains another is masked whole): what stored error text goes through."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        return redact_text(text, self.secrets)
