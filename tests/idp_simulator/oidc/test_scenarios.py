"""Every OIDC scenario produces the token or response it documents."""

from __future__ import annotations

from typing import Any, cast

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys
from idp_simulator.oidc.authorize import AuthorizationRequest
from idp_simulator.oidc.provider import SimulatedOp
from idp_simulator.oidc.scenarios import (
    OIDC_DESCRIPTIONS,
    OidcScenario,
    adjust_claims,
    oidc_scenario_for_email,
)
from idp_simulator.user import SimulatedUser
from tests.idp_simulator.conftest import NOW
from tests.idp_simulator.oidc_helpers import (
    CLIENT_ID,
    ISSUER,
    REDIRECT_URI,
    OidcFlow,
    decode_unverified,
    pkce_pair,
    query,
)

T = int(NOW.timestamp())


def verified(oidc: OidcFlow, scenario: str) -> dict[str, Any]:
    return oidc.verified_claims(oidc.tokens(scenario=scenario)["id_token"])


def userinfo(oidc: OidcFlow, access_token: str) -> dict[str, Any]:
    response = oidc.client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )
    assert response.status_code == 200
    info: dict[str, Any] = response.json()
    return info


def test_success(oidc: OidcFlow):
    claims = verified(oidc, "success")
    assert (claims["iss"], claims["aud"], claims["nonce"]) == (ISSUER, CLIENT_ID, "n-456")
    assert (claims["iat"], claims["exp"]) == (T, T + 300)


def test_wrong_issuer(oidc: OidcFlow):
    assert verified(oidc, "wrong-issuer")["iss"] == f"{ISSUER}-other"


def test_wrong_audience(oidc: OidcFlow):
    assert verified(oidc, "wrong-audience")["aud"] == f"{CLIENT_ID}-other"


def test_expired(oidc: OidcFlow):
    claims = verified(oidc, "expired")
    assert (claims["iat"], claims["auth_time"], claims["exp"]) == (T - 7200, T - 7200, T - 3600)


def test_nonce_mismatch(oidc: OidcFlow):
    first, second = verified(oidc, "nonce-mismatch"), verified(oidc, "nonce-mismatch")
    assert first["nonce"] not in ("n-456", second["nonce"])
    oidc.params.pop("nonce")
    assert verified(oidc, "nonce-mismatch")["nonce"]


def test_unknown_key(oidc: OidcFlow):
    id_token = oidc.tokens(scenario="unknown-key")["id_token"]
    header, claims = decode_unverified(id_token)
    published = [key.kid for key in oidc.key_set().keys]
    assert header["alg"] == "RS256"
    assert header["kid"]
    assert header["kid"] not in published
    assert claims["iss"] == ISSUER
    with pytest.raises(JoseError):
        jwt.decode(id_token, oidc.key_set(), algorithms=["RS256"])


def test_unknown_key_is_a_real_signature_by_the_throwaway_key(
    config: SimulatorConfig, keys: IdpKeys, wrong_keys: IdpKeys
):
    op = SimulatedOp(config, keys, lambda: NOW, wrong_keys=wrong_keys)
    verifier, challenge = pkce_pair()
    request = AuthorizationRequest(
        client_id=config.oidc_client_id,
        redirect_uri=REDIRECT_URI,
        scope="openid",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    user = SimulatedUser("alice@example.com", "Alice", "Example")
    code = query(op.login(request, user, "unknown-key"))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": config.oidc_client_id,
        "client_secret": config.oidc_client_secret,
    }
    id_token = op.token(None, form)["id_token"]
    throwaway = RSAKey.import_key(wrong_keys.private_key_pem)
    token = jwt.decode(id_token, throwaway, algorithms=["RS256"])
    assert token.header["kid"] == throwaway.thumbprint()


def test_alg_none(oidc: OidcFlow):
    id_token = oidc.tokens(scenario="alg-none")["id_token"]
    assert id_token.endswith(".")
    assert id_token.count(".") == 2
    header, claims = decode_unverified(id_token)
    assert header == {"alg": "none", "typ": "JWT"}
    assert (claims["iss"], claims["aud"], claims["email"]) == (
        ISSUER,
        CLIENT_ID,
        "alice@example.com",
    )
    with pytest.raises(JoseError):
        jwt.decode(id_token, oidc.key_set())


def test_missing_email(oidc: OidcFlow):
    body = oidc.tokens(scenario="missing-email")
    for claims in (oidc.verified_claims(body["id_token"]), userinfo(oidc, body["access_token"])):
        assert "email" not in claims
        assert "email_verified" not in claims
        assert claims["sub"]


def test_email_unverified(oidc: OidcFlow):
    body = oidc.tokens(scenario="email-unverified")
    assert oidc.verified_claims(body["id_token"])["email_verified"] is False
    assert userinfo(oidc, body["access_token"])["email_verified"] is False


def test_access_denied(oidc: OidcFlow):
    params = oidc.callback(scenario="access-denied")
    assert set(params) == {"error", "error_description", "state", "iss"}
    assert params["error"] == "access_denied"
    assert params["error_description"].endswith(".")
    assert (params["state"], params["iss"]) == ("st-123", ISSUER)


def test_replay_sends_the_browser_to_the_same_callback(oidc: OidcFlow):
    nothing = oidc.client.get("/oidc/replay")
    assert nothing.status_code == 404
    assert "Nothing to replay" in nothing.text
    first = oidc.login(oidc.pending(), email="replay@example.com")
    location = first.headers["location"]
    for _ in range(2):
        again = oidc.client.get("/oidc/replay")
        assert (again.status_code, again.headers["location"]) == (302, location)
    code = query(location)["code"]
    assert oidc.token(code).status_code == 200
    assert oidc.token(code).json()["error"] == "invalid_grant"


def test_an_access_denied_callback_is_replayed_too(oidc: OidcFlow):
    location = oidc.login(oidc.pending(), scenario="access-denied").headers["location"]
    assert oidc.client.get("/oidc/replay").headers["location"] == location


@pytest.mark.parametrize(
    ("email", "check"),
    [
        ("expired@example.com", lambda c: c["exp"] == T - 3600),
        ("alice+nonce-mismatch@example.com", lambda c: c["nonce"] != "n-456"),
        ("alice+wrong-audience@example.com", lambda c: c["aud"] == f"{CLIENT_ID}-other"),
        ("email-unverified@example.com", lambda c: c["email_verified"] is False),
    ],
)
def test_scenario_by_email_local_part(oidc: OidcFlow, email, check):
    claims = oidc.verified_claims(oidc.tokens(email=email)["id_token"])
    assert claims["email"] == email
    assert check(claims)


def test_an_explicit_scenario_wins_over_the_email(oidc: OidcFlow):
    claims = oidc.verified_claims(
        oidc.tokens(email="expired@example.com", scenario="success")["id_token"]
    )
    assert claims["exp"] == T + 300


def test_an_unknown_scenario_is_refused_on_the_form(oidc: OidcFlow):
    response = oidc.login(oidc.pending(), scenario="signature-wrapping")
    assert response.status_code == 400
    assert "unknown scenario" in response.text


@pytest.mark.parametrize(
    ("email", "scenario"),
    [
        ("alice@example.com", None),
        ("ALG-NONE@example.com", OidcScenario.ALG_NONE),
        ("bob+unknown-key@example.com", OidcScenario.UNKNOWN_KEY),
        ("unsigned@example.com", None),  # a SAML scenario, not an OIDC one
    ],
)
def test_oidc_scenario_for_email(email, scenario):
    assert oidc_scenario_for_email(email) is scenario


def test_adjust_claims_is_pure_and_checks_the_name():
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "iat": T, "exp": T + 300, "email": "a@b.c"}
    original = dict(claims)
    assert adjust_claims("wrong-issuer", claims)["iss"] == f"{ISSUER}-other"
    assert adjust_claims("success", claims) == claims
    assert claims == original
    with pytest.raises(ValueError, match="boom"):
        adjust_claims("boom", claims)


def test_every_scenario_is_described():
    assert set(OIDC_DESCRIPTIONS) == set(OidcScenario)
    assert [s.value for s in OidcScenario] == [
        "success", "wrong-issuer", "wrong-audience", "expired", "nonce-mismatch",
        "unknown-key", "alg-none", "missing-email", "email-unverified", "access-denied",
        "replay",
    ]  # fmt: skip


def test_jwks_never_publishes_the_throwaway_key(
    config: SimulatorConfig, keys: IdpKeys, wrong_keys: IdpKeys
):
    op = SimulatedOp(config, keys, lambda: NOW, wrong_keys=wrong_keys)
    key_set = KeySet.import_key_set(cast(Any, op.jwks()))
    assert [key.kid for key in key_set.keys] == [op.signing_key.kid]
    assert op.unknown_key.kid != op.signing_key.kid
