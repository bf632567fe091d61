"""The discovery document and JWKS, read as a strict relying party (Auth0) reads them."""

from __future__ import annotations

from tests.support.config import ISSUER
from tests.support.harness import Harness

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_discovery_issuer_is_exactly_the_configured_issuer(gatehouse: Harness) -> None:
    doc = gatehouse.client.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == ISSUER
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert doc[endpoint].startswith(ISSUER + "/")


def test_discovery_advertises_what_auth0_needs(gatehouse: Harness) -> None:
    doc = gatehouse.client.get("/.well-known/openid-configuration").json()
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"client_secret_post", "client_secret_basic"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["request_parameter_supported"] is False
    assert doc["request_uri_parameter_supported"] is False
    assert {"sub", "email", "email_verified", "organization_id", "connection_id"} <= set(
        doc["claims_supported"]
    )
    assert "openid" in doc["scopes_supported"]


def test_discovery_endpoints_answer_where_they_say(gatehouse: Harness) -> None:
    doc = gatehouse.client.get("/.well-known/openid-configuration").json()
    jwks = gatehouse.client.get(doc["jwks_uri"].removeprefix(ISSUER))
    assert jwks.status_code == 200
    token = gatehouse.client.post(doc["token_endpoint"].removeprefix(ISSUER), data={})
    assert token.status_code == 400
    assert token.json()["error"]


def test_jwks_publishes_public_rsa_keys_only(gatehouse: Harness) -> None:
    keys = gatehouse.client.get("/jwks.json").json()["keys"]
    assert len(keys) >= 2  # the signing key and the next one
    for key in keys:
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert key["use"] == "sig"
        assert key["kid"]
        assert not PRIVATE_MEMBERS & set(key)


def test_id_token_kid_is_published(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    token = gatehouse.redeem(code, verifier=login.verifier).json()
    kids = {k["kid"] for k in gatehouse.client.get("/jwks.json").json()["keys"]}
    from joserfc import jws

    header = jws.extract_compact(token["id_token"].encode()).protected
    assert header["kid"] in kids
