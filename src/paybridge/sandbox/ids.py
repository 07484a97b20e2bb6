"""Checkout.com-shaped identifiers (`pay_…`, `act_…`) for the simulator."""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_lowercase + string.digits


def cko_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ALPHABET) for _ in range(26))
