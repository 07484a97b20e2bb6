"""OAuth 2.0 access tokens for Salesforce: client credentials or JWT bearer, cached, refreshed once.

Salesforce's token response has no `expires_in` (the session policy decides, 2 h by default),
so a token is kept for a configured TTL and otherwise until a 401 says it died. Refresh is
single-flight: whoever holds the lock fetches, and a caller whose failed token has already
been replaced just takes the new one (compare-and-swap), so N concurrent 401s cost one fetch.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self

import httpx
import jwt
from pydantic import SecretStr

from paybridge.adapters.http import is_transient_status
from paybridge.adapters.salesforce.errors import SalesforceAuthError, SalesforceTransientError
from paybridge.adapters.salesforce.models import parse_error_items

TOKEN_PATH = "/services/oauth2/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_MAX_LIFETIME_S = 180
# A Salesforce record Id: 15 or 18 case-sensitive alphanumerics.
_RECORD_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


class TokenFlow(Protocol):
    """One OAuth grant: the form fields to POST to the token endpoint."""

    def form_data(self) -> dict[str, str]: ...


def _reveal(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


@dataclass(frozen=True, slots=True)
class ClientCredentialsFlow:
    """`grant_type=client_credentials` with the External Client App's key and secret."""

    client_id: str
    client_secret: str | SecretStr = field(repr=False)

    def form_data(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": _reveal(self.client_secret),
        }


@dataclass(frozen=True, slots=True)
class JwtBearerFlow:
    """JWT bearer grant: an RS256 assertion (iss=client id, sub=username, exp ≤ 3 minutes)."""

    client_id: str
    username: str
    private_key_pem: str | SecretStr = field(repr=False)
    audience: str = "https://login.salesforce.com"
    lifetime_s: int = JWT_MAX_LIFETIME_S
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if not 0 < self.lifetime_s <= JWT_MAX_LIFETIME_S:
            raise ValueError(f"lifetime_s must be within 1..{JWT_MAX_LIFETIME_S}")

    @classmethod
    def from_key_file(cls, path: Path, *, client_id: str, username: str, audience: str) -> Self:
        return cls(
            client_id=client_id,
            username=username,
            private_key_pem=SecretStr(path.read_text("utf-8")),
            audience=audience,
        )

    def assertion(self) -> str:
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": int(self.clock()) + self.lifetime_s,
        }
        return jwt.encode(claims, _reveal(self.private_key_pem), algorithm="RS256")

    def form_data(self) -> dict[str, str]:
        return {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()}


@dataclass(frozen=True, slots=True)
class AccessToken:
    access_token: str = field(repr=False)
    instance_url: str | None
    obtained_at: float
    # The token response's `id`: the identity URL `…/id/<org id>/<user id>` of the run-as user.
    identity_url: str | None = None

    @property
    def user_id(self) -> str | None:
        """The run-as user's Id (`005…`), the identity URL's last segment."""
        last = (self.identity_url or "").rstrip("/").rsplit("/", 1)[-1]
        return last if _RECORD_ID.fullmatch(last) else None


class TokenProvider:
    """Caches one access token and refreshes it at most once per failure (single-flight)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        flow: TokenFlow,
        ttl_s: float | None = 5400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._flow = flow
        self._ttl_s = ttl_s
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    @classmethod
    def for_instance(cls, http: httpx.AsyncClient, instance_url: str, flow: TokenFlow) -> Self:
        """Token endpoint on the org's My Domain (client credentials do not work on login.*)."""
        return cls(http, token_url=instance_url.rstrip("/") + TOKEN_PATH, flow=flow)

    @property
    def current(self) -> AccessToken | None:
        return self._token

    async def get_token(self) -> str:
        """A valid-looking token, fetching one if none is cached or the TTL ran out."""
        token = self._token
        if token is not None and self._is_fresh(token):
            return token.access_token
        async with self._lock:
            token = self._token
            if token is None or not self._is_fresh(token):
                token = self._token = await self._fetch()
            return token.access_token

    async def refresh(self, stale: str | None) -> str:
        """Replace `stale` (the token a 401 rejected) unless another caller already did."""
        async with self._lock:
            token = self._token
            if token is not None and token.access_token != stale and self._is_fresh(token):
                return token.access_token
            token = self._token = await self._fetch()
            return token.access_token

    def _is_fresh(self, token: AccessToken) -> bool:
        return self._ttl_s is None or self._clock() - token.obtained_at < self._ttl_s

    async def _fetch(self) -> AccessToken:
        self.fetch_count += 1
        try:
            response = await self._http.post(
                self._token_url, data=self._flow.form_data(), headers={"Accept": "application/json"}
            )
        except httpx.TransportError as exc:
            raise SalesforceTransientError(f"token endpoint unreachable: {exc!r}") from exc
        body = _json_or_none(response)
        errors = parse_error_items(body)
        if is_transient_status(response.status_code):
            raise SalesforceTransientError(
                f"token endpoint answered {response.status_code}",
                status_code=response.status_code,
                errors=errors,
            )
        access_token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(access_token, str):
            detail = "; ".join(f"{item.error_code}: {item.message}" for item in errors)
            raise SalesforceAuthError(
                f"token request refused ({response.status_code}) {detail}".strip(),
                status_code=response.status_code,
                errors=errors,
            )
        instance_url = body.get("instance_url") if isinstance(body, dict) else None
        identity_url = body.get("id") if isinstance(body, dict) else None
        return AccessToken(
            access_token=access_token,
            instance_url=instance_url if isinstance(instance_url, str) else None,
            obtained_at=self._clock(),
            identity_url=identity_url if isinstance(identity_url, str) else None,
        )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
