"""When an authorization lapses if it is not captured, and when to warn about it.

Checkout.com's default for a card authorization is 7 days (DESIGN §6b); other methods differ
(a pay-later authorization can last weeks), so a market may name the validity of a method.
Pure: the caller gives the time the authorization was granted and the market's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

CARD_AUTHORIZATION_VALIDITY = timedelta(days=7)


def authorization_expires_at(
    authorized_at: datetime,
    *,
    method: str | None,
    validity_by_method: Mapping[str, timedelta],
    default: timedelta = CARD_AUTHORIZATION_VALIDITY,
) -> datetime:
    """`authorized_at` plus the method's validity (the default when the market names none)."""
    validity = validity_by_method.get(method or "", default)
    return authorized_at + validity


def is_due_for_warning(expires_at: datetime, *, now: datetime, warn_before: timedelta) -> bool:
    """Inside the warning window (also once lapsed: nobody was told yet). A zero window
    never warns."""
    return warn_before > timedelta(0) and expires_at - warn_before <= now
