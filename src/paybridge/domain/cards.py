"""Card guard: find anything that looks like a card number (13–19 digits passing Luhn).

paybridge is out of PCI scope only while no PAN ever reaches it; a request that carries one
is refused before it is stored or logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal

from paybridge.domain.iban import is_valid_iban

# Runs of digit groups joined by single spaces or dashes ("1 4242 4242-4242 4242").
_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*")
# E.164: a phone number written with its "+" country code has at most 15 digits.
_PHONE_DIGITS = 15
_SEPARATOR = re.compile(r"[ -]")
_IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")


def passes_luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _without_ibans(text: str) -> str:
    """Drop valid IBANs first: many are mostly digits and one in ten passes Luhn."""

    def drop(match: re.Match[str]) -> str:
        return "" if is_valid_iban(match.group().replace(" ", "")) else match.group()

    return _IBAN_CANDIDATE.sub(drop, text)


def _has_card_window(groups: list[str]) -> bool:
    """True when consecutive whole groups hold 13–19 digits passing Luhn: a card number
    hidden behind a house number ("1 4242 4242 4242 4242") is found, while windows that
    split a group (which would flag one long number in ten) are not tried."""
    for start in range(len(groups)):
        digits = ""
        for group in groups[start:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13 and passes_luhn(digits):
                return True
    return False


def looks_like_card_number(text: str) -> bool:
    """True when a run of digit groups in `text` (spaces/dashes between groups) holds 13–19
    digits passing Luhn, outside a valid IBAN and outside a "+" phone number."""
    # Most text holds fewer than 13 digits: no regex for it (this runs on every string of
    # every request body and log line).
    if len(text) < 13 or sum(map(str.isdigit, text)) < 13:
        return False
    text = _without_ibans(text)
    for match in _RUN.finditer(text):
        if match.end() - match.start() < 13:  # too short to hold 13 digits
            continue
        groups = _SEPARATOR.split(match.group())
        is_phone = text[match.start() - 1 : match.start()] == "+"
        if is_phone and sum(map(len, groups)) <= _PHONE_DIGITS:
            continue
        if _has_card_window(groups):
            return True
    return False


def find_card_numbers(value: object, path: str = "") -> Iterator[str]:
    """Yield the dotted path of every string or integer in `value` that looks like a PAN."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and looks_like_card_number(key):
                yield child
            yield from find_card_numbers(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from find_card_numbers(item, f"{path}[{index}]")
    elif (
        isinstance(value, str | int | Decimal)
        and not isinstance(value, bool)
        and looks_like_card_number(str(value))
    ):
        yield path
