"""Guards for untrusted JSON: bounded nesting before parsing, and the characters text may hold.

`json.loads` recurses once per level, so 10,000 nested brackets raise `RecursionError` (or
worse, exhaust the stack) instead of a clean refusal: the depth is measured on the raw bytes
first, with an explicit bound. NUL can never be stored in PostgreSQL text, and other control
characters have no place in a name, an address or an id sent to Checkout.com or Salesforce.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from itertools import accumulate

MAX_DEPTH = 64

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
# C0 controls except tab, line feed and carriage return (a Salesforce street is a text area
# and holds line breaks), plus DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def nesting_exceeds(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when arrays/objects in the JSON text `raw` nest deeper than `limit`.

    Brackets inside strings do not count. The common case (fewer opening brackets than the
    limit in all) is decided by two counts, without scanning.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_A_BRACKET)
    return max(accumulate(_STEP[b] for b in brackets), default=0) > limit


def has_control_character(text: str) -> bool:
    return _CONTROL.search(text) is not None


def find_control_characters(value: object, path: str = "") -> Iterator[str]:
    """Yield the dotted path of every key or string in `value` holding a control character."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and has_control_character(key):
                yield _CONTROL.sub("?", child)
            else:
                yield from find_control_characters(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from find_control_characters(item, f"{path}[{index}]")
    elif isinstance(value, str) and has_control_character(value):
        yield path


def has_nul(value: object) -> bool:
    """True when any key or string in `value` holds U+0000 (PostgreSQL text cannot)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False
