"""IBANs (ISO 13616): recognised so the card guard does not mistake them for PANs."""

from __future__ import annotations


def is_valid_iban(value: str) -> bool:
    """ISO 13616: two letters, two check digits, up to 30 alphanumerics, mod 97 == 1."""
    if not 15 <= len(value) <= 34 or not value.isascii() or not value.isalnum():
        return False
    if not (value[:2].isalpha() and value[:2].isupper() and value[2:4].isdigit()):
        return False
    if value != value.upper():
        return False
    rearranged = value[4:] + value[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1
