"""The OpenID Provider's front channel: discovery, JWKS, authorize, the login page, the callback."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey
from lxml import html

from idp_simulator.keys import IdpKeys
from tests.idp_simulator.oidc_helpers import (
    CLIENT_ID,
    ISSUER,
    REDIRECT_URI,
    OidcFlow,
    form_fields,
    query,
)


def test_discovery(oidc: OidcFlow):
    response = oidc.client.get("/oidc/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-frame-options"] == "DENY"
    metadata = response.json()
    assert metadata["issuer"] == ISSUER == oidc.config.oidc_issuer
    assert metadata["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert metadata["token_endpoint"] == f"{ISSUER}/token"
    assert metadata["jwks_uri"] == f"{ISSUER}/jwks.json"
    assert metadata["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["grant_types_supported"] == ["authorization_code"]
    assert metadata["subject_types_supported"] == ["public"]
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert metadata["scopes_supported"] == ["openid", "profile", "email", "groups"]
    assert {"sub", "email", "email_verified", "groups", "nonce"} <= set(
        metadata["claims_supported"]
    )
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_jwks_is_the_simulators_rsa_key_with_a_thumbprint_kid(oidc: OidcFlow, keys: IdpKeys):
    (jwk,) = oidc.client.get("/oidc/jwks.json").json()["keys"]
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")
    assert "d" not in jwk
    assert "p" not in jwk
    expected = RSAKey.import_key(keys.private_key_pem)
    assert jwk["kid"] == expected.thumbprint()
    assert jwk["n"] == expected.as_dict(private=False)["n"]


def test_login_page_shows_the_request_and_the_shared_form(oidc: OidcFlow):
    response = oidc.authorize(login_hint="bob@example.com", prompt="login", max_age="300")
    assert response.status_code == 200
    text = response.text
    for shown in (CLIENT_ID, REDIRECT_URI, "st-123", "S256", "prompt", "max_age", "300"):
        assert shown in text
    assert "n-456" not in text  # the nonce is only said to be present
    fields = form_fields(text)
    assert fields["email"] == "bob@example.com"
    assert set(fields) == {
        "pending", "email", "given_name", "family_name", "groups", "attributes", "scenario"
    }  # fmt: skip
    document = html.fromstring(text)
    (form,) = document.forms
    assert form.action == "http://testserver/oidc/login"
    options = [o.get("value") for o in document.xpath("//select[@id='scenario']/option")]
    assert options[0] == ""
    assert {"alg-none", "nonce-mismatch", "access-denied"} <= set(options)
    assert "signature-wrapping" not in options


def test_login_redirects_with_code_state_and_iss(oidc: OidcFlow):
    params = oidc.callback()
    assert set(params) == {"code", "state", "iss"}
    assert params["state"] == "st-123"
    assert params["iss"] == ISSUER
    assert len(params["code"]) >= 43


def test_state_is_returned_verbatim_and_left_out_when_absent(oidc: OidcFlow):
    odd = "a b&c=d/é"
    response = oidc.login(oidc.pending(state=odd))
    assert query(response.headers["location"])["state"] == odd
    response = oidc.login(oidc.pending(state=None))
    assert "state" not in query(response.headers["location"])


def test_a_redirect_uri_query_is_kept(oidc: OidcFlow):
    response = oidc.login(oidc.pending(redirect_uri="http://localhost:8000/cb?tenant=a"))
    location = response.headers["location"]
    assert location.startswith("http://localhost:8000/cb?tenant=a&code=")


def test_the_pending_request_is_single_use_and_fields_cannot_move_it(oidc: OidcFlow):
    pending = oidc.pending()
    first = oidc.login(pending, redirect_uri="http://localhost:9/steal")
    assert first.headers["location"].startswith(REDIRECT_URI + "?")
    again = oidc.login(pending)
    assert again.status_code == 400
    assert "expired" in again.text


def test_a_bad_login_form_is_shown_again(oidc: OidcFlow):
    pending = oidc.pending()
    response = oidc.login(pending, email="not-an-email")
    assert response.status_code == 400
    assert "enter an email address" in response.text
    assert form_fields(response.text)["pending"] == pending
    reserved = oidc.login(pending, attributes="iss=http://evil.test")
    assert reserved.status_code == 400
    assert "iss cannot be set" in reserved.text
    assert oidc.login(pending).status_code == 302


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"client_id": "someone-else"}, "unknown client_id"),
        ({"client_id": None}, "unknown client_id"),
        ({"redirect_uri": None}, "no redirect_uri"),
        ({"redirect_uri": "https://attacker.test/cb"}, "will not redirect to"),
        ({"redirect_uri": "http://localhost.evil.test/cb"}, "will not redirect to"),
        ({"redirect_uri": "http://localhost:8000/cb#frag"}, "no fragment"),
        ({"state": "x" * 5000}, "too large"),
    ],
)
def test_errors_before_a_trusted_redirect_uri_are_pages(oidc: OidcFlow, changes, message):
    response = oidc.authorize(**changes)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert message in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_repeated_parameter_is_a_page(oidc: OidcFlow):
    url = oidc.client.build_request("GET", "/oidc/authorize", params=oidc.params).url
    response = oidc.client.get(f"{url}&state=second")
    assert response.status_code == 400
    assert "state parameter appears more than once" in response.text
    repeated_redirect = oidc.client.get(f"{url}&redirect_uri=http%3A%2F%2Flocalhost%2Fx")
    assert repeated_redirect.status_code == 400


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        ({"response_type": "token"}, "unsupported_response_type", "response_type=code"),
        ({"response_type": None}, "invalid_request", "response_type is required"),
        ({"scope": "email profile"}, "invalid_scope", "openid"),
        ({"scope": None}, "invalid_scope", "openid"),
        ({"code_challenge_method": "plain"}, "invalid_request", "S256"),
        ({"code_challenge_method": None}, "invalid_request", "S256"),
        ({"code_challenge": None}, "invalid_request", "PKCE S256 is required"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request", "PKCE"),
        ({"code_challenge": "short"}, "invalid_request", "code_challenge"),
        ({"max_age": "soon"}, "invalid_request", "max_age"),
        ({"prompt": "none"}, "login_required", "login form"),
        ({"response_mode": "form_post"}, "invalid_request", "response_mode"),
    ],
)
def test_later_errors_go_back_to_the_client(oidc: OidcFlow, changes, error, description):
    response = oidc.authorize(**changes)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = query(location)
    assert params["error"] == error
    assert description in params["error_description"]
    assert params["state"] == "st-123"
    assert params["iss"] == ISSUER
    assert "code" not in params


def test_an_error_redirect_without_state_has_no_state(oidc: OidcFlow):
    response = oidc.authorize(response_type="token", state=None)
    assert set(query(response.headers["location"])) == {"error", "error_description", "iss"}


def test_home_page_describes_the_oidc_side(oidc: OidcFlow):
    text = oidc.client.get("/").text
    assert ISSUER in text
    assert f"{ISSUER}/.well-known/openid-configuration" in text
    assert CLIENT_ID in text
    assert "IDP_SIM_ALLOWED_ACS" in text
    assert "nonce-mismatch" in text
    assert "alg-none" in text
    assert "nameid-comment" in text  # the SAML side is still described


def test_oidc_unknown_paths_and_methods(oidc: OidcFlow):
    assert oidc.client.get("/oidc/nope").status_code == 404
    assert oidc.client.get("/oidc/login").status_code == 405
    assert oidc.client.get("/oidc/token").status_code == 405
