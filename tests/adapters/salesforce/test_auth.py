"""Salesforce OAuth: client credentials and JWT bearer grants, caching, single-flight refresh."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from paybridge.adapters.http import RetryPolicy
from paybridge.adapters.salesforce.auth import (
    JWT_BEARER_GRANT,
    ClientCredentialsFlow,
    JwtBearerFlow,
    TokenProvider,
)
from paybridge.adapters.salesforce.client import SalesforceClient
from paybridge.adapters.salesforce.errors import SalesforceAuthError, SalesforceTransientError

INSTANCE = "https://acme.my.salesforce.com"
TOKEN_URL = f"{INSTANCE}/services/oauth2/token"
FIXTURES = Path(__file__).resolve().parents[2] / "reference/salesforce/restforce"


def fixture(name: str) -> object:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"reference fixture {path} is not available")
    return json.loads(path.read_text())


def token_body(token: str) -> dict[str, str]:
    return {"access_token": token, "instance_url": INSTANCE, "token_type": "Bearer"}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def provider(http: httpx.AsyncClient, **kwargs: object) -> TokenProvider:
    flow = ClientCredentialsFlow(client_id="3MVG9-client", client_secret="s3cret")
    return TokenProvider(http, token_url=TOKEN_URL, flow=flow, **kwargs)  # type: ignore[arg-type]


async def test_client_credentials_posts_the_form_and_caches_the_token(
    http: httpx.AsyncClient,
) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(TOKEN_URL).respond(200, json=fixture("auth_success_response.json"))
        tokens = provider(http)

        first = await tokens.get_token()
        second = await tokens.get_token()

    assert first == second
    assert first.startswith("00Dx0000000BV7z!")
    assert route.call_count == 1
    form = parse_qs(route.calls.last.request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["3MVG9-client"],
        "client_secret": ["s3cret"],
    }
    assert tokens.current is not None
    assert tokens.current.instance_url == "https://na1.salesforce.com"
    # The identity URL `…/id/<org>/<user>` names the run-as user (salesforce check reads it).
    assert tokens.current.user_id == "005x00000012Q9P"


async def test_a_token_response_without_an_identity_url_names_no_user(
    http: httpx.AsyncClient,
) -> None:
    with respx.mock() as router:
        router.post(TOKEN_URL).respond(200, json=token_body("00D!abc"))
        tokens = provider(http)
        await tokens.get_token()

    assert tokens.current is not None
    assert tokens.current.user_id is None


async def test_a_token_older_than_its_ttl_is_fetched_again(http: httpx.AsyncClient) -> None:
    now = [1000.0]
    with respx.mock() as router:
        route = router.post(TOKEN_URL).mock(
            side_effect=[httpx.Response(200, json=token_body(t)) for t in ("t1", "t2")]
        )
        tokens = provider(http, ttl_s=60.0, clock=lambda: now[0])

        assert await tokens.get_token() == "t1"
        now[0] += 59
        assert await tokens.get_token() == "t1"
        now[0] += 2
        assert await tokens.get_token() == "t2"

    assert route.call_count == 2


async def test_refresh_replaces_only_the_token_that_failed(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        router.post(TOKEN_URL).mock(
            side_effect=[httpx.Response(200, json=token_body(t)) for t in ("t1", "t2")]
        )
        tokens = provider(http)
        stale = await tokens.get_token()

        fresh = await asyncio.gather(*(tokens.refresh(stale) for _ in range(20)))

    assert set(fresh) == {"t2"}
    assert tokens.fetch_count == 2


async def test_twenty_concurrent_401s_cause_exactly_one_refresh(http: httpx.AsyncClient) -> None:
    expired = fixture("expired_session_response.json")
    stale_arrived: list[httpx.Request] = []
    all_stale = asyncio.Event()

    async def by_token(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer t1":
            # Hold every 401 until all twenty requests have used the stale token.
            stale_arrived.append(request)
            if len(stale_arrived) == 20:
                all_stale.set()
            await all_stale.wait()
            return httpx.Response(401, json=expired)
        return httpx.Response(204)

    with respx.mock() as router:
        token_route = router.post(TOKEN_URL).mock(
            side_effect=[httpx.Response(200, json=token_body(t)) for t in ("t1", "t2", "t3")]
        )
        data_route = router.patch(url__startswith=f"{INSTANCE}/services/data/").mock(
            side_effect=by_token
        )
        client = SalesforceClient(
            http,
            instance_url=INSTANCE,
            api_version="66.0",
            token_provider=provider(http),
            retry_policy=RetryPolicy.immediate(1),
        )

        await asyncio.gather(
            *(client.update("Order", f"801{n:015d}", {"CKO_Payment_Id__c": "p"}) for n in range(20))
        )

    assert token_route.call_count == 2  # the first token, then one refresh for all twenty
    assert data_route.call_count == 40
    assert client.api_calls == 40


async def test_a_refused_grant_is_an_auth_error(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        router.post(TOKEN_URL).respond(400, json=fixture("auth_error_response.json"))

        with pytest.raises(SalesforceAuthError) as caught:
            await provider(http).get_token()

    assert caught.value.error_code == "invalid_grant"
    assert "Invalid Password" in caught.value.message


async def test_an_unreachable_token_endpoint_is_transient(http: httpx.AsyncClient) -> None:
    with respx.mock() as router:
        router.post(TOKEN_URL).mock(side_effect=[httpx.Response(503), httpx.ConnectError("down")])
        tokens = provider(http)

        with pytest.raises(SalesforceTransientError):
            await tokens.get_token()
        with pytest.raises(SalesforceTransientError):
            await tokens.get_token()


def _rsa_pem() -> tuple[str, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


async def test_jwt_bearer_sends_a_short_lived_rs256_assertion(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    pem, public_key = _rsa_pem()
    key_file = tmp_path / "server.key"
    key_file.write_text(pem)
    flow = JwtBearerFlow.from_key_file(
        key_file,
        client_id="3MVG9-client",
        username="integration@acme.example",
        audience="https://test.salesforce.com",
    )
    flow = JwtBearerFlow(
        client_id=flow.client_id,
        username=flow.username,
        private_key_pem=flow.private_key_pem,
        audience=flow.audience,
        clock=lambda: 1_700_000_000.0,
    )

    with respx.mock() as router:
        route = router.post(TOKEN_URL).respond(200, json=token_body("jwt-token"))
        tokens = TokenProvider(http, token_url=TOKEN_URL, flow=flow)
        assert await tokens.get_token() == "jwt-token"

    form = parse_qs(route.calls.last.request.content.decode())
    assert form["grant_type"] == [JWT_BEARER_GRANT]
    assert jwt.get_unverified_header(form["assertion"][0])["alg"] == "RS256"
    claims = jwt.decode(
        form["assertion"][0],
        public_key,
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "3MVG9-client",
        "sub": "integration@acme.example",
        "aud": "https://test.salesforce.com",
        "exp": 1_700_000_180,
    }


def test_jwt_lifetime_is_capped_at_three_minutes() -> None:
    with pytest.raises(ValueError, match="lifetime_s"):
        JwtBearerFlow(client_id="c", username="u", private_key_pem="k", lifetime_s=600)


def test_secrets_stay_out_of_reprs() -> None:
    assert "s3cret" not in repr(ClientCredentialsFlow(client_id="c", client_secret="s3cret"))
