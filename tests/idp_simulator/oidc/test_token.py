"""The OpenID Provider's back channel: the token endpoint and userinfo."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.idp_simulator.conftest import NOW
from tests.idp_simulator.oidc_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    REDIRECT_URI,
    OidcFlow,
    basic_header,
    decode_unverified,
)


def assert_oauth_error(response, status: int, error: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    body: dict[str, str] = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert response.headers["cache-control"] == "no-store"
    return body


@pytest.mark.parametrize("basic", [True, False], ids=["client_secret_basic", "client_secret_post"])
def test_code_for_tokens(oidc: OidcFlow, basic: bool):
    response = oidc.token(oidc.code(), basic=basic)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "id_token", "scope"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert body["scope"] == "openid email profile"
    claims = oidc.verified_claims(body["id_token"])
    now = int(NOW.timestamp())
    assert claims["iss"] == ISSUER
    assert claims["aud"] == CLIENT_ID
    assert (claims["iat"], claims["auth_time"], claims["exp"]) == (now, now, now + 300)
    assert claims["nonce"] == "n-456"


def test_id_token_header_and_claims(oidc: OidcFlow):
    body = oidc.tokens(attributes="department=R&D\nrole=a\nrole=b", groups="eng, ops")
    claims = oidc.verified_claims(body["id_token"])
    kid = oidc.key_set().keys[0].kid
    header, _ = decode_unverified(body["id_token"])
    assert header == {"alg": "RS256", "kid": kid, "typ": "JWT"}
    email_hash = hashlib.sha256(b"alice@example.com").hexdigest()[:24]
    assert claims["sub"] == f"sim-{email_hash}"
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert (claims["given_name"], claims["family_name"]) == ("Alice", "Example")
    assert claims["name"] == "Alice Example"
    assert claims["groups"] == ["eng", "ops"]
    assert claims["department"] == "R&D"
    assert claims["role"] == ["a", "b"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_sub_is_stable_per_email_and_empty_claims_are_left_out(oidc: OidcFlow):
    first = oidc.verified_claims(oidc.tokens(email="Bob@Example.com")["id_token"])
    second = oidc.verified_claims(
        oidc.tokens(email="bob@example.com", groups="", given_name="", family_name="")["id_token"]
    )
    assert first["sub"] == second["sub"]
    assert first["email"] == "Bob@Example.com"
    assert not {"groups", "given_name", "family_name", "name"} & set(second)


def test_no_nonce_in_the_request_means_none_in_the_token(oidc: OidcFlow):
    oidc.params.pop("nonce")
    assert "nonce" not in oidc.verified_claims(oidc.tokens()["id_token"])


def test_basic_credentials_are_form_urlencoded(oidc: OidcFlow):
    raw = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = oidc.client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": oidc.code(),
            "redirect_uri": REDIRECT_URI,
            "code_verifier": oidc.verifier,
        },
        headers={"Authorization": f"Basic {raw}"},
    )
    # "s3cret/with+odd=chars" sent raw decodes to "s3cret/with odd=chars": not the secret.
    assert_oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize(
    "authorization",
    [
        basic_header(CLIENT_ID, "wrong"),
        basic_header("someone-else", CLIENT_SECRET),
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
def test_wrong_basic_credentials(oidc: OidcFlow, authorization: str):
    code = oidc.code()
    response = oidc.client.post(
        "/oidc/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        headers={"Authorization": authorization},
    )
    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")
    assert oidc.token(code).status_code == 200  # a failed client did not spend the code


def test_wrong_post_secret(oidc: OidcFlow):
    response = oidc.token(oidc.code(), basic=False, client_secret="wrong")
    assert_oauth_error(response, 401, "invalid_client")
    assert "www-authenticate" not in response.headers


def test_both_methods_at_once_or_none(oidc: OidcFlow):
    both = oidc.token(oidc.code(), client_secret=CLIENT_SECRET)
    assert (
        "one client authentication method"
        in assert_oauth_error(both, 401, "invalid_client")["error_description"]
    )
    assert both.headers["www-authenticate"].startswith("Basic")
    none = oidc.token(oidc.code(), basic=False, client_secret=None)
    assert_oauth_error(none, 401, "invalid_client")
    assert "www-authenticate" not in none.headers
    other_id = oidc.token(oidc.code(), client_id="someone-else")
    assert_oauth_error(other_id, 401, "invalid_client")


def test_pkce_wrong_or_missing_verifier(oidc: OidcFlow):
    wrong = oidc.token(oidc.code(), code_verifier="x" * 43)
    assert "code_verifier" in assert_oauth_error(wrong, 400, "invalid_grant")["error_description"]
    missing = oidc.token(oidc.code(), code_verifier=None)
    assert_oauth_error(missing, 400, "invalid_request")


def test_code_is_single_use_even_after_a_failed_attempt(oidc: OidcFlow):
    code = oidc.code()
    assert oidc.token(code).status_code == 200
    assert_oauth_error(oidc.token(code), 400, "invalid_grant")
    spent = oidc.code()
    assert_oauth_error(oidc.token(spent, code_verifier="y" * 43), 400, "invalid_grant")
    assert_oauth_error(oidc.token(spent), 400, "invalid_grant")


def test_code_expires_after_60_seconds(oidc: OidcFlow):
    fresh, stale = oidc.code(), oidc.code()
    oidc.clock.advance(59)
    assert oidc.token(fresh).status_code == 200
    oidc.clock.advance(1)
    assert_oauth_error(oidc.token(stale), 400, "invalid_grant")


def test_redirect_uri_must_be_the_same(oidc: OidcFlow):
    other = oidc.token(oidc.code(), redirect_uri=REDIRECT_URI + "/x")
    assert "redirect_uri" in assert_oauth_error(other, 400, "invalid_grant")["error_description"]
    assert_oauth_error(oidc.token(oidc.code(), redirect_uri=None), 400, "invalid_request")


def test_grant_type_and_request_shape(oidc: OidcFlow):
    code = oidc.code()
    assert_oauth_error(oidc.token(code, grant_type="password"), 400, "unsupported_grant_type")
    assert_oauth_error(oidc.token(code, grant_type=None), 400, "invalid_request")
    assert_oauth_error(oidc.token(None), 400, "invalid_request")
    assert oidc.token(code).status_code == 200  # none of those reached the code
    unknown = oidc.token("made-up")
    assert_oauth_error(unknown, 400, "invalid_grant")
    as_json = oidc.client.post(
        "/oidc/token",
        json={"grant_type": "authorization_code"},
        headers={"Authorization": basic_header(CLIENT_ID, CLIENT_SECRET)},
    )
    assert_oauth_error(as_json, 400, "invalid_request")
    repeated = oidc.client.post(
        "/oidc/token",
        content=b"grant_type=authorization_code&code=a&code=b",
        headers={
            "Authorization": basic_header(CLIENT_ID, CLIENT_SECRET),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert (
        "more than once"
        in assert_oauth_error(repeated, 400, "invalid_request")["error_description"]
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_with_the_bearer_token(oidc: OidcFlow, method: str):
    body = oidc.tokens(attributes="department=R&D")
    response = oidc.client.request(
        method, "/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    info = response.json()
    claims = oidc.verified_claims(body["id_token"])
    assert info == {k: v for k, v in claims.items() if k in info}
    assert set(info) == {
        "sub", "email", "email_verified", "given_name", "family_name", "name", "groups",
        "department",
    }  # fmt: skip


def test_userinfo_refuses_unknown_expired_and_non_bearer_tokens(oidc: OidcFlow):
    token = oidc.tokens()["access_token"]
    unknown = oidc.client.get("/oidc/userinfo", headers={"Authorization": "Bearer nope"})
    assert_oauth_error(unknown, 401, "invalid_token")
    assert unknown.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    missing = oidc.client.get("/oidc/userinfo")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    in_query = oidc.client.get("/oidc/userinfo", params={"access_token": token})
    assert in_query.status_code == 401
    in_form = oidc.client.post("/oidc/userinfo", data={"access_token": token})
    assert in_form.status_code == 401
    oidc.clock.advance(3600)
    expired = oidc.client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert_oauth_error(expired, 401, "invalid_token")
