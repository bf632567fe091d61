"""`/token`: the code is redeemed once, by its client, with its verifier, within 60 s."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import httpx
import pytest

from tests.support.config import ISSUER
from tests.support.harness import Harness


def assert_token_error(response: httpx.Response, error: str) -> None:
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"
    assert "access_token" not in response.json()


@pytest.mark.parametrize("auth", ["post", "basic"])
def test_code_redeems_for_verified_tokens(gatehouse: Harness, auth: str) -> None:
    login, code = gatehouse.login_and_get_code()
    response = gatehouse.redeem(code, verifier=login.verifier, auth=auth)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    claims = gatehouse.verify_id_token(body["id_token"])
    now = int(gatehouse.clock.now().timestamp())
    assert claims["iss"] == ISSUER
    assert claims["aud"] == gatehouse.client_id
    assert claims["iat"] == now
    assert claims["exp"] == now + 600
    assert claims["auth_time"] == now
    assert claims["nonce"] == login.nonce
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_nonce_is_absent_when_not_sent(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code(gatehouse.new_login(nonce=None))
    body = gatehouse.redeem(code, verifier=login.verifier).json()
    assert "nonce" not in gatehouse.verify_id_token(body["id_token"])


def test_wrong_client_secret_is_invalid_client(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    response = gatehouse.redeem(code, verifier=login.verifier, client_secret="x" * 43)
    assert_token_error(response, "invalid_client")


def test_wrong_client_secret_over_basic_is_401_with_challenge(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    response = gatehouse.redeem(code, verifier=login.verifier, client_secret="x", auth="basic")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


def test_code_issued_to_another_client_is_invalid_grant(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    response = gatehouse.redeem(
        code,
        verifier=login.verifier,
        client_id=gatehouse.other_client_id,
        client_secret=gatehouse.other_client_secret,
    )
    assert_token_error(response, "invalid_grant")


def test_code_reuse_fails_and_revokes_the_first_tokens(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    first = gatehouse.redeem(code, verifier=login.verifier).json()
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    assert gatehouse.client.get("/userinfo", headers=bearer).status_code == 200
    assert_token_error(gatehouse.redeem(code, verifier=login.verifier), "invalid_grant")
    assert gatehouse.client.get("/userinfo", headers=bearer).status_code == 401


def test_expired_code_is_invalid_grant(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    gatehouse.clock.advance(timedelta(seconds=60))
    assert_token_error(gatehouse.redeem(code, verifier=login.verifier), "invalid_grant")


def test_code_is_valid_just_before_expiry(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    gatehouse.clock.advance(timedelta(seconds=59))
    assert gatehouse.redeem(code, verifier=login.verifier).status_code == 200


def test_unknown_code_is_invalid_grant(gatehouse: Harness) -> None:
    assert_token_error(gatehouse.redeem("made-up", verifier=None), "invalid_grant")


def test_wrong_verifier_is_invalid_grant(gatehouse: Harness) -> None:
    _, code = gatehouse.login_and_get_code()
    assert_token_error(gatehouse.redeem(code, verifier="w" * 64), "invalid_grant")


def test_missing_verifier_is_refused_when_a_challenge_was_sent(gatehouse: Harness) -> None:
    _, code = gatehouse.login_and_get_code()
    assert_token_error(gatehouse.redeem(code, verifier=None), "invalid_request")


def test_verifier_without_a_challenge_is_refused(gatehouse: Harness) -> None:
    # RFC 9700 §4.8: a verifier for a code issued without a challenge is a downgrade probe.
    _, code = gatehouse.login_and_get_code(gatehouse.new_login(pkce=False))
    assert_token_error(gatehouse.redeem(code, verifier="v" * 64), "invalid_request")


def test_redirect_uri_must_match_the_authorization_request(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    response = gatehouse.redeem(code, verifier=login.verifier, redirect_uri="https://rp.test/cb2")
    assert_token_error(response, "invalid_grant")


def test_public_client_redeems_with_pkce_only(gatehouse: Harness) -> None:
    login = gatehouse.new_login(
        client_id=gatehouse.public_client_id, redirect_uri="http://127.0.0.1:9999/cb"
    )
    login, code = gatehouse.login_and_get_code(login)
    response = gatehouse.redeem(
        code,
        verifier=login.verifier,
        client_id=gatehouse.public_client_id,
        auth="none",
        redirect_uri="http://127.0.0.1:9999/cb",
    )
    assert response.status_code == 200, response.text


def test_public_client_cannot_skip_the_verifier(gatehouse: Harness) -> None:
    login = gatehouse.new_login(
        client_id=gatehouse.public_client_id, redirect_uri="http://127.0.0.1:9999/cb"
    )
    _, code = gatehouse.login_and_get_code(login)
    response = gatehouse.redeem(
        code,
        verifier=None,
        client_id=gatehouse.public_client_id,
        auth="none",
        redirect_uri="http://127.0.0.1:9999/cb",
    )
    assert_token_error(response, "invalid_request")


def test_confidential_client_cannot_authenticate_as_public(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    assert_token_error(
        gatehouse.redeem(code, verifier=login.verifier, auth="none"), "invalid_client"
    )


def test_repeated_parameters_are_refused(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    body = (
        f"grant_type=authorization_code&code={code}&code={code}&code_verifier={login.verifier}"
        f"&client_id={gatehouse.client_id}&client_secret={gatehouse.client_secret}"
    )
    response = gatehouse.client.post(
        "/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_token_error(response, "invalid_request")


def test_unsupported_grant_type(gatehouse: Harness) -> None:
    response = gatehouse.client.post(
        "/token",
        data={
            "grant_type": "password",
            "client_id": gatehouse.client_id,
            "client_secret": gatehouse.client_secret,
        },
    )
    assert_token_error(response, "unsupported_grant_type")


def test_token_endpoint_requires_post(gatehouse: Harness) -> None:
    response = gatehouse.client.get("/token")
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


def test_token_endpoint_ignores_credentials_in_the_query(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    response = gatehouse.client.post(
        f"/token?client_id={gatehouse.client_id}&client_secret={gatehouse.client_secret}",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": login.verifier or "",
            "redirect_uri": "https://rp.test/callback",
        },
    )
    assert_token_error(response, "invalid_client")
