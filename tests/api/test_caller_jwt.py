"""Salesforce-minted JWTs as callers: signature, issuer, audience, lifetime, algorithm."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from tests.conftest import API_KEY, make_settings, truncate_all
from tests.simulators.checkout import CheckoutSimulator

ISSUER = "3MVG9SalesforceClientId"
AUDIENCE = "https://paybridge.example.com"


def keypair() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Paybridge_JWT")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


SIGNING_KEY, CERT_PEM = keypair()
OTHER_KEY, _ = keypair()


def token(key: Any = SIGNING_KEY, algorithm: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "integration@example.com",
        "iat": now,
        "exp": now + 120,
    }
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm)


@pytest.fixture
async def jwt_client(
    pg_url: str, tmp_path: Path, checkout_sim: CheckoutSimulator
) -> AsyncIterator[httpx.AsyncClient]:
    cert = tmp_path / "salesforce.crt"
    cert.write_bytes(CERT_PEM)
    settings = make_settings(
        pg_url, jwt={"certificate_file": str(cert), "issuer": ISSUER, "audience": AUDIENCE}
    )
    container = build_container(
        settings,
        checkout_transport=checkout_sim.transport(),
        checkout_retry=RetryPolicy.immediate(1),
    )
    await truncate_all(container.engine)
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client
    await container.aclose()


async def get_with(client: httpx.AsyncClient, bearer: str) -> httpx.Response:
    return await client.get(
        "/v1/payments",
        params={"order_id": "8015g00000AbCdEAAV"},
        headers={"Authorization": f"Bearer {bearer}"},
    )


async def test_valid_token_is_accepted(jwt_client: httpx.AsyncClient) -> None:
    assert (await get_with(jwt_client, token())).status_code == 200
    assert (await get_with(jwt_client, token(algorithm="RS512"))).status_code == 200


@pytest.mark.parametrize(
    "bad",
    [
        token(key=OTHER_KEY),
        token(iss="someone-else"),
        token(aud="https://elsewhere.example.com"),
        token(exp=int(time.time()) - 3600, iat=int(time.time()) - 3700),
        token(exp=int(time.time()) + 3600),  # lives an hour: too long
        token(exp=None),
        jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "iat": 1, "exp": 2},
            "a-shared-secret-that-is-long-enough-for-hs256",
            algorithm="HS256",
        ),
        "not-a-jwt",
    ],
    ids=["wrong-key", "issuer", "audience", "expired", "long-lived", "no-exp", "hs256", "garbage"],
)
async def test_bad_tokens_are_401(jwt_client: httpx.AsyncClient, bad: str) -> None:
    response = await get_with(jwt_client, bad)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_api_key_still_works_beside_jwt(jwt_client: httpx.AsyncClient) -> None:
    response = await jwt_client.get(
        "/v1/payments", params={"order_id": "8015g00000AbCdEAAV"}, headers={"X-API-Key": API_KEY}
    )
    assert response.status_code == 200
