"""`/userinfo`: RFC 6750 bearer tokens; the same identity claims as the ID token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.harness import Harness


def tokens(gatehouse: Harness, **identity: str) -> dict[str, Any]:
    login, code = gatehouse.login_and_get_code(**identity)
    body: dict[str, Any] = gatehouse.redeem(code, verifier=login.verifier).json()
    return body


IDENTITY_CLAIMS = (
    "sub", "email", "email_verified", "name", "organization_id", "organization_name",
    "connection_id", "idp_type", "idp_groups", "raw_attributes",
)  # fmt: skip


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_returns_the_id_token_identity_claims(gatehouse: Harness, method: str) -> None:
    body = tokens(gatehouse)
    id_claims = gatehouse.verify_id_token(body["id_token"])
    response = gatehouse.client.request(
        method, "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    info = response.json()
    for claim in IDENTITY_CLAIMS:
        assert info[claim] == id_claims[claim], claim
    assert not {"iss", "aud", "exp", "nonce", "at_hash"} & set(info)


def test_userinfo_accepts_the_token_in_a_post_body(gatehouse: Harness) -> None:
    body = tokens(gatehouse)
    response = gatehouse.client.post("/userinfo", data={"access_token": body["access_token"]})
    assert response.status_code == 200


def test_userinfo_refuses_a_token_in_the_query(gatehouse: Harness) -> None:
    body = tokens(gatehouse)
    response = gatehouse.client.get(f"/userinfo?access_token={body['access_token']}")
    assert response.status_code == 401


def test_userinfo_without_a_token_is_a_bearer_challenge(gatehouse: Harness) -> None:
    response = gatehouse.client.get("/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="gatehouse"'


def test_userinfo_with_an_unknown_token_is_invalid_token(gatehouse: Harness) -> None:
    response = gatehouse.client.get("/userinfo", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_userinfo_with_an_expired_token_is_invalid_token(gatehouse: Harness) -> None:
    body = tokens(gatehouse)
    gatehouse.clock.advance(timedelta(minutes=10))
    response = gatehouse.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 401
