"""Card guard: find anything that looks like a card number (13–19 digits passing Luhn).

paybridge is out of PCI scope only while no PAN ever reaches it; a request that carries one
is refused before it is stored or logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal

from paybridge.domain.iban import is_valid_iban

# Digit runs, allowing single spaces or dashes between digit groups ("4242 4242-4242 4242").
_CANDIDATE = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
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


def looks_like_card_number(text: str) -> bool:
    """True when `text` contains a 13–19 digit run (spaces/dashes allowed) passing Luhn
    that is not part of a valid IBAN."""
    for match in _CANDIDATE.finditer(_without_ibans(text)):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and passes_luhn(digits):
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
