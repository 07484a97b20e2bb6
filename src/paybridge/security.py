"""Who may call `/v1`: an API key (`X-API-Key`, several for rotation) or a Salesforce-minted
RS256/RS512 JWT (`Authorization: Bearer …`) verified with the exported certificate."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509 import load_pem_x509_certificate

from paybridge.errors import AuthenticationFailed
from paybridge.settings import JwtSettings

_ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})


@dataclass(frozen=True, slots=True)
class Caller:
    method: str  # api_key | jwt
    subject: str | None = None


def load_public_key(path: Path) -> RSAPublicKey:
    """A PEM certificate (as Salesforce exports it) or a bare PEM public key."""
    data = path.read_bytes()
    key: Any = (
        load_pem_x509_certificate(data).public_key()
        if b"BEGIN CERTIFICATE" in data
        else load_pem_public_key(data)
    )
    if not isinstance(key, RSAPublicKey):
        raise ValueError(f"{path}: the JWT certificate must hold an RSA public key")
    return key


@dataclass(frozen=True)
class JwtVerifier:
    public_key: RSAPublicKey
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    max_lifetime_s: int
    leeway_s: int

    @classmethod
    def from_settings(cls, settings: JwtSettings) -> JwtVerifier | None:
        if settings.certificate_file is None:
            return None
        algorithms = tuple(settings.algorithms)
        if not algorithms or not set(algorithms) <= _ASYMMETRIC:
            raise ValueError("PAYBRIDGE_JWT__ALGORITHMS may only name RSA algorithms (RS256…)")
        if not settings.issuer or not settings.audience:
            raise ValueError("PAYBRIDGE_JWT__ISSUER and PAYBRIDGE_JWT__AUDIENCE are required")
        return cls(
            public_key=load_public_key(settings.certificate_file),
            issuer=settings.issuer,
            audience=settings.audience,
            algorithms=algorithms,
            max_lifetime_s=settings.max_lifetime_s,
            leeway_s=settings.leeway_s,
        )

    def verify(self, token: str) -> Caller:
        """Signature, issuer, audience, exp/iat required, and a short lifetime; the
        algorithm list is ours (never the token's `alg`), so `none`/HS256 tricks fail."""
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"Invalid bearer token: {exc}", code="unauthorized") from exc
        if int(claims["exp"]) - int(claims["iat"]) > self.max_lifetime_s:
            raise AuthenticationFailed("Bearer token lives too long.", code="unauthorized")
        subject = claims.get("sub")
        return Caller(method="jwt", subject=subject if isinstance(subject, str) else None)


@dataclass(frozen=True)
class CallerAuthenticator:
    api_keys: Sequence[bytes]
    jwt: JwtVerifier | None = None

    def authenticate(self, *, api_key: str | None, authorization: str | None) -> Caller:
        if authorization and self.jwt is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token:
                return self.jwt.verify(token.strip())
        presented = (api_key or "").encode()
        matched = False
        for key in self.api_keys:  # constant time, and every key is compared
            matched |= hmac.compare_digest(presented, key)
        if not api_key or not matched:
            raise AuthenticationFailed("Missing or invalid X-API-Key.", code="unauthorized")
        return Caller(method="api_key")
