"""Who may call the management API (docs/security.md M-02, M-03, M-07): client credentials
at /token, tokens checked on every request, exact scopes, rate limits."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from broker.management.access import api_audience
from broker.oidc.clients import register_client
from broker.settings import ManagementSettings
from broker.store import Store
from tests.support.config import ISSUER
from tests.support.management_api import ApiWorld, basic, build_api_world

# -- the token endpoint (client credentials) ---------------------------------------------------


def test_a_client_gets_a_short_lived_access_token_for_the_api(world: ApiWorld) -> None:
    caller = world.caller("organizations:read", "domains:read")
    response = caller.fetch_token()
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "organizations:read domains:read"
    token = jwt.decode(body["access_token"], _keys(world))
    assert token.header["typ"] == "at+jwt"
    assert token.claims["aud"] == api_audience(ISSUER)
    assert token.claims["client_id"] == caller.client_id


def _keys(world: ApiWorld) -> KeySet:
    return KeySet.import_key_set(world.http.get("/jwks.json").json())


def test_basic_authentication_works_too(world: ApiWorld) -> None:
    caller = world.caller("events:read")
    response = world.http.post(
        "/token",
        data={"grant_type": "client_credentials", "audience": api_audience(ISSUER)},
        headers=basic(caller.client_id, caller.client_secret),
    )
    assert response.status_code == 200, response.text


def test_credentials_in_both_the_header_and_the_body_are_invalid_request(
    world: ApiWorld,
) -> None:
    """RFC 6749 §2.3.1: one authentication method per request (P-07)."""
    caller = world.caller("events:read")
    response = world.http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "audience": api_audience(ISSUER),
            "client_id": caller.client_id,
            "client_secret": caller.client_secret,
        },
        headers=basic(caller.client_id, caller.client_secret),
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "authorization",
    [
        b"Basic " + base64.b64encode(b"\xff\xfe:\xff"),
        "Basic é".encode("latin-1"),
        b"Basic " + base64.b64encode(b"mc_x:%ff"),
        b"Basic " + base64.b64encode(b"mc\x00x:secret"),
    ],
)
def test_malformed_basic_credentials_are_invalid_client(
    world: ApiWorld, authorization: bytes
) -> None:
    response = world.http.post(
        "/token",
        data={"grant_type": "client_credentials", "audience": api_audience(ISSUER)},
        headers={"Authorization": authorization},
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


def test_an_unknown_client_is_answered_exactly_as_a_wrong_secret(world: ApiWorld) -> None:
    caller = world.caller("events:read")
    wrong_secret = caller.fetch_token(client_secret="w" * 43)
    unknown = caller.fetch_token(client_id="mc_unknown", client_secret="w" * 43)
    per_request = ("x-request-id", "content-security-policy")
    assert (unknown.status_code, unknown.content) == (
        wrong_secret.status_code,
        wrong_secret.content,
    )
    assert {k: v for k, v in unknown.headers.items() if k not in per_request} == {
        k: v for k, v in wrong_secret.headers.items() if k not in per_request
    }


def test_a_narrower_scope_can_be_asked_for_and_a_wider_one_cannot(world: ApiWorld) -> None:
    caller = world.caller("organizations:read", "organizations:write")
    narrow = caller.fetch_token(scope="organizations:read")
    assert narrow.json()["scope"] == "organizations:read"
    wider = caller.fetch_token(scope="organizations:read connections:write")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "mc_unknown"}, 401, "invalid_client"),
        ({"audience": "https://gatehouse.test"}, 400, "invalid_request"),
        ({"audience": ""}, 400, "invalid_request"),
    ],
)
def test_bad_client_credentials_requests_are_refused(
    world: ApiWorld, change: dict[str, str], status: int, error: str
) -> None:
    caller = world.caller()
    response = caller.fetch_token(**change)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


def test_a_login_client_cannot_get_a_management_token(world: ApiWorld) -> None:
    """Management clients are a separate registry: an Auth0 client's secret administers
    nothing."""
    with world.store.unit_of_work() as uow:
        login_client = register_client(
            uow, name="Auth0", redirect_uris=["https://rp.test/cb"], now=world.clock.now()
        )
    assert login_client.client_secret
    response = world.http.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": login_client.client.client_id,
            "client_secret": login_client.client_secret,
            "audience": api_audience(ISSUER),
        },
    )
    assert response.status_code == 401


# -- tokens on API requests ----------------------------------------------------------------------


def test_no_token_is_401_with_a_problem_and_a_challenge(world: ApiWorld) -> None:
    response = world.http.get("/api/v1/organizations")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem = response.json()
    assert problem["status"] == 401
    assert problem["type"] == "urn:gatehouse:problem:unauthenticated"
    assert response.headers["x-request-id"] in problem["instance"]


def test_a_token_in_the_query_string_is_refused(world: ApiWorld) -> None:
    caller = world.admin()
    token = caller.authorized()["Authorization"].split()[1]
    response = world.http.get(f"/api/v1/organizations?access_token={token}")
    assert response.status_code == 401
    assert "Authorization header" in response.json()["detail"]


def test_an_id_token_gatehouse_issued_is_not_an_access_token(world: ApiWorld) -> None:
    """M-03: signed by the same key, but `typ` JWT and another audience."""
    key = world.broker.keys.signing_key()
    now = int(world.clock.now().timestamp())
    claims = {"iss": ISSUER, "aud": api_audience(ISSUER), "client_id": world.admin().client_id,
              "scope": "organizations:read", "iat": now, "exp": now + 300}  # fmt: skip
    forged = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key.key)
    response = world.http.get(
        "/api/v1/organizations", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    assert "not an access token" in response.json()["detail"]


@pytest.mark.parametrize("claim", ["aud", "iss"])
def test_a_token_for_another_audience_or_issuer_is_refused(world: ApiWorld, claim: str) -> None:
    key = world.broker.keys.signing_key()
    now = int(world.clock.now().timestamp())
    claims = {"iss": ISSUER, "aud": api_audience(ISSUER), "client_id": world.admin().client_id,
              "scope": "organizations:read", "iat": now, "exp": now + 300}  # fmt: skip
    claims[claim] = "https://elsewhere.test"
    forged = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}, claims, key.key)
    response = world.http.get(
        "/api/v1/organizations", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


def test_an_expired_token_is_refused(world: ApiWorld) -> None:
    caller = world.admin()
    assert caller.get("/organizations").status_code == 200
    world.clock.advance(timedelta(minutes=5))
    assert caller.get("/organizations").status_code == 401


def test_a_revoked_clients_live_token_stops_working_at_once(world: ApiWorld) -> None:
    caller = world.admin()
    assert caller.get("/organizations").status_code == 200
    with world.store.unit_of_work() as uow:
        uow.management_clients.revoke(caller.client_id, now=world.clock.now())
    assert caller.get("/organizations").status_code == 401
    assert caller.fetch_token().status_code == 401


def test_a_tampered_token_is_refused(world: ApiWorld) -> None:
    caller = world.admin()
    token = caller.authorized()["Authorization"].split()[1]
    head, body, signature = token.split(".")
    tampered = f"{head}.{body}.{signature[:-4]}AAAA"
    response = world.http.get(
        "/api/v1/organizations", headers={"Authorization": f"Bearer {tampered}"}
    )
    assert response.status_code == 401


# -- scopes ---------------------------------------------------------------------------------


def test_a_missing_scope_is_403_naming_it(world: ApiWorld) -> None:
    reader = world.caller("organizations:read")
    response = reader.post("/organizations", json={"name": "Acme"})
    assert response.status_code == 403
    problem = response.json()
    assert problem["scope"] == "organizations:write"
    assert "organizations:write" in problem["detail"]
    assert 'scope="organizations:write"' in response.headers["www-authenticate"]
    with world.store.unit_of_work() as uow:
        assert uow.organizations.list() == []


def test_scopes_match_exactly(world: ApiWorld) -> None:
    """M-02: no prefix or wildcard tricks; `organizations:read` grants no write."""
    reader = world.caller("organizations:read")
    assert reader.get("/organizations").status_code == 200
    response = reader.get("/organizations/org_x/domains")
    assert response.status_code == 403
    assert response.json()["scope"] == "domains:read"


# -- rate limits -----------------------------------------------------------------------------


def test_too_many_requests_get_429_with_retry_after(store: Store, tmp_path: Path) -> None:
    limited = build_api_world(store, tmp_path, management=ManagementSettings(requests_per_minute=3))
    with limited.http:
        caller = limited.admin()
        for _ in range(3):
            assert caller.get("/organizations").status_code == 200
        refused = caller.get("/organizations")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["retry_after"] == int(refused.headers["retry-after"])
        other = limited.caller(name="another backend")
        assert other.get("/organizations").status_code == 200  # per client
        limited.clock.advance(timedelta(minutes=1))
        assert caller.fetch_token().status_code == 200
        caller.token = ""
        assert caller.get("/organizations").status_code == 200


@pytest.mark.parametrize(
    ("claims_change", "problem"),
    [({"iat": 10**10}, "issued in the future"), ({"exp": "soon"}, "expired")],
)
def test_a_token_with_impossible_times_is_refused(
    world: ApiWorld, claims_change: dict[str, object], problem: str
) -> None:
    key = world.broker.keys.signing_key()
    now = int(world.clock.now().timestamp())
    claims = {"iss": ISSUER, "aud": api_audience(ISSUER), "client_id": world.admin().client_id,
              "scope": "organizations:read", "iat": now, "exp": now + 300}  # fmt: skip
    claims |= claims_change
    forged = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}, claims, key.key)
    response = world.http.get(
        "/api/v1/organizations", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    assert problem in response.json()["detail"]
