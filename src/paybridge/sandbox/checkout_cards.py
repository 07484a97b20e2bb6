"""The simulated Checkout.com's test values: which amounts decline and which tokens ask for 3DS.

Like Checkout.com's own sandbox, outcomes are chosen by the request, so every path can be
walked on purpose. Amounts are in minor units (`149.05` EUR is `14905`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Last two digits of the amount (minor units) → (response code, summary).
DECLINE_AMOUNTS: dict[int, tuple[str, str]] = {
    5: ("20005", "Declined - Do not honour"),
    51: ("20051", "Insufficient Funds"),
}
APPROVED = ("10000", "Approved")

# Any `tok_…` token is approved; one starting `tok_3ds` always goes through a 3DS challenge
# (a 202 with a redirect link), as does a request with `"3ds": {"enabled": true}`.
THREE_DS_TOKEN_PREFIX = "tok_3ds"
TOKEN_APPROVED = "tok_4gzeau5o2uqubbk6fufs3m7p54"
TOKEN_THREE_DS = "tok_3dschallengesandboxtokenab"

# Local payment methods that settle without a redirect (SEPA collects by mandate).
NO_REDIRECT_METHODS = frozenset({"sepa"})
CARD_SOURCES = frozenset({"token", "id"})


@dataclass(frozen=True, slots=True)
class Outcome:
    approved: bool
    response_code: str
    response_summary: str


def authorization_outcome(amount_minor: int) -> Outcome:
    """What the issuer says once the shopper is through (no 3DS, or 3DS completed)."""
    declined = DECLINE_AMOUNTS.get(amount_minor % 100)
    code, summary = declined or APPROVED
    return Outcome(approved=declined is None, response_code=code, response_summary=summary)


# Cards the shopper types on a Payment Link's hosted page (the simulator's test cards).
LINK_CARD_APPROVED = "4242424242424242"
LINK_CARD_DECLINED = "4000000000000002"
LINK_CARD_THREE_DS = "4485040371536584"
LINK_CARDS = {
    LINK_CARD_APPROVED: "approved",
    LINK_CARD_DECLINED: "declined (20005 Do not honour)",
    LINK_CARD_THREE_DS: "3-D Secure challenge",
}
DECLINED_CARD_CODES = ("20005", "Declined - Do not honour")


def asks_for_three_ds(source: dict[str, object], three_ds: dict[str, object] | None) -> bool:
    token = source.get("token")
    forced = isinstance(token, str) and token.startswith(THREE_DS_TOKEN_PREFIX)
    return forced or bool((three_ds or {}).get("enabled"))


TEST_VALUES_TEXT = f"""\
Test values of the simulated Checkout.com:
  amount ending in .05 (minor units …05)  declined, 20005 Do not honour
  amount ending in .51 (minor units …51)  declined, 20051 Insufficient Funds
  any other amount                        approved, 10000
  token {TOKEN_THREE_DS}   3DS challenge (202 + redirect_url); so does "three_ds": true
  local methods (ideal, bancontact, …)    202 + redirect_url; sepa: pending, no redirect
  Payment Link page: card {LINK_CARD_APPROVED} approved, {LINK_CARD_DECLINED} declined,
                     {LINK_CARD_THREE_DS} 3DS challenge
"""
