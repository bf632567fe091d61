"""`/token` client authentication against hostile input (RFC 6749 §2.3.1, docs/security.md
P-07): malformed Basic credentials are an `invalid_client`, never a crash; two methods at
once are an `invalid_request`; an unknown client_id is answered exactly as a wrong secret."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.support.config import RP_CALLBACK
from tests.support.harness import Harness

#: Headers that differ on every response whatever it says.
PER_REQUEST = ("x-request-id", "content-security-policy")


def basic(raw: bytes) -> dict[str, bytes]:
    return {"Authorization": b"Basic " + base64.b64encode(raw)}


def post_token(
    gatehouse: Harness, form: dict[str, str], headers: dict[str, bytes] | None = None
) -> httpx.Response:
    body = {"grant_type": "authorization_code", "code": "c" * 43, "redirect_uri": RP_CALLBACK}
    response: httpx.Response = gatehouse.client.post(
        "/token",
        data=body | form,
        headers=headers,
    )
    return response


def comparable(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in PER_REQUEST)
    return response.status_code, response.content, headers


def assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "authorization",
    [
        b"Basic " + base64.b64encode(b"\xff\xfe:\xff"),  # not UTF-8 once decoded
        "Basic é".encode("latin-1"),  # not base64, not even ASCII
        b"Basic !!!!",
        b"Basic " + base64.b64encode(b"no-colon-at-all"),
        b"Basic " + base64.b64encode(b":secret-without-id"),
        b"Basic " + base64.b64encode(b"auth0-tenant:%ff%fe"),  # percent-encoded non-UTF-8
        b"Basic " + base64.b64encode(b"auth0-tenant\x00:x"),
        b"Basic",
        b"Basic ",
    ],
)
def test_malformed_basic_credentials_are_invalid_client(
    gatehouse: Harness, authorization: bytes
) -> None:
    assert_invalid_client(post_token(gatehouse, {}, {"Authorization": authorization}))


def test_credentials_in_both_the_header_and_the_body_are_invalid_request(
    gatehouse: Harness,
) -> None:
    """RFC 6749 §2.3.1: a client MUST NOT use more than one authentication method per
    request. Refused before anything is looked up, whatever the credentials are worth."""
    login, code = gatehouse.login_and_get_code()
    pair = f"{gatehouse.client_id}:{gatehouse.client_secret}".encode()
    response = gatehouse.redeem(
        code,
        verifier=login.verifier,
        auth="basic",
        client_id=gatehouse.client_id,
        client_secret=gatehouse.client_secret,
    )
    assert response.status_code == 200  # the same credentials, one method: fine
    login, code = gatehouse.login_and_get_code()
    both = post_token(
        gatehouse,
        {
            "code": code,
            "code_verifier": login.verifier or "",
            "client_id": gatehouse.client_id,
            "client_secret": gatehouse.client_secret,
        },
        basic(pair),
    )
    assert both.status_code == 400, both.text
    assert both.json()["error"] == "invalid_request"
    # The code was not spent by the refused request.
    assert gatehouse.redeem(code, verifier=login.verifier).status_code == 200


def test_a_body_client_id_other_than_the_basic_one_is_invalid_request(
    gatehouse: Harness,
) -> None:
    pair = f"{gatehouse.client_id}:{gatehouse.client_secret}".encode()
    response = post_token(gatehouse, {"client_id": gatehouse.other_client_id}, basic(pair))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("method", ["post", "basic"])
def test_an_unknown_client_is_answered_exactly_as_a_wrong_secret(
    gatehouse: Harness, method: str
) -> None:
    """No oracle for which client ids exist: status, body and headers are the same bytes."""
    answers = []
    for client_id in (gatehouse.client_id, "no-such-client"):
        if method == "post":
            response = post_token(gatehouse, {"client_id": client_id, "client_secret": "w" * 43})
        else:
            response = post_token(gatehouse, {}, basic(f"{client_id}:{'w' * 43}".encode()))
        answers.append(comparable(response))
    wrong_secret, unknown_client = answers
    assert unknown_client == wrong_secret
    assert wrong_secret[0] == 401


def test_basic_and_post_failures_are_the_same_answer(gatehouse: Harness) -> None:
    """Which method failed is not told either."""
    by_post = post_token(gatehouse, {"client_id": gatehouse.client_id, "client_secret": "w"})
    by_basic = post_token(gatehouse, {}, basic(f"{gatehouse.client_id}:w".encode()))
    assert comparable(by_post) == comparable(by_basic)


@pytest.mark.parametrize("client_id", ["\x00", "a\x00b", "é" * 3, "x" * 5000, " "])
def test_client_ids_no_client_can_have_are_an_unknown_client(
    gatehouse: Harness, client_id: str
) -> None:
    """Looked up nowhere (PostgreSQL refuses a NUL in a text parameter): the answer for an
    unknown client."""
    response = post_token(gatehouse, {"client_id": client_id, "client_secret": "w" * 43})
    assert_invalid_client(response)


def test_a_confidential_client_without_its_secret_is_invalid_client(gatehouse: Harness) -> None:
    assert_invalid_client(post_token(gatehouse, {"client_id": gatehouse.client_id}))


def test_no_credentials_at_all_is_invalid_client(gatehouse: Harness) -> None:
    assert_invalid_client(post_token(gatehouse, {}))
