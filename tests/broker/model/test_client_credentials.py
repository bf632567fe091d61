"""Client credentials at `/token` (broker/model/client_credentials.py, docs/security.md
P-07), read as a table: what each request carries, and what it is read as or refused as."""

from __future__ import annotations

import base64

import pytest

from broker.model.client_credentials import (
    BASIC,
    FAILED,
    NONE,
    POST,
    ClientCredentials,
    CredentialsRefused,
    parse_client_credentials,
)


def basic(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return "Basic " + base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("authorization", "form", "read"),
    [
        (basic("rp:s3cret"), {}, ClientCredentials(BASIC, "rp", "s3cret")),
        # RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
        (basic("r%3Ap:s%3Ac%25t"), {}, ClientCredentials(BASIC, "r:p", "s:c%t")),
        (basic("rp:a:b"), {}, ClientCredentials(BASIC, "rp", "a:b")),
        (basic("caf%C3%A9:s"), {}, ClientCredentials(BASIC, "café", "s")),
        ("basic " + basic("rp:s")[6:], {}, ClientCredentials(BASIC, "rp", "s")),
        ("  Basic   " + basic("rp:s")[6:] + "  ", {}, ClientCredentials(BASIC, "rp", "s")),
        # The body may repeat the header's client_id (some libraries always send it).
        (basic("rp:s"), {"client_id": ["rp"]}, ClientCredentials(BASIC, "rp", "s")),
        (None, {"client_id": ["rp"], "client_secret": ["s"]}, ClientCredentials(POST, "rp", "s")),
        (None, {"client_id": ["rp"]}, ClientCredentials(NONE, "rp")),
        (None, {"client_id": ["rp"], "client_secret": [""]}, ClientCredentials(NONE, "rp")),
        # Another scheme is no Basic header: the body decides.
        ("Bearer abc", {"client_id": ["rp"], "client_secret": ["s"]},
         ClientCredentials(POST, "rp", "s")),
        ("", {"client_id": ["rp"]}, ClientCredentials(NONE, "rp")),
    ],
)  # fmt: skip
def test_the_credentials_a_request_carries(
    authorization: str | None, form: dict[str, list[str]], read: ClientCredentials
) -> None:
    assert parse_client_credentials(authorization, form) == read


@pytest.mark.parametrize(
    ("authorization", "form"),
    [
        pytest.param(None, {}, id="nothing"),
        pytest.param(None, {"client_id": [""]}, id="empty-client_id"),
        pytest.param(None, {"client_secret": ["s"]}, id="secret-without-id"),
        pytest.param("Bearer abc", {}, id="other-scheme-nothing-in-body"),
        pytest.param("Basic", {}, id="basic-without-token"),
        pytest.param("Basic !!!!", {}, id="not-base64"),
        pytest.param("Basic cnA6cw", {}, id="base64-without-padding"),
        pytest.param("Basic " + "A" * 4100, {}, id="too-long"),
        pytest.param("Basic cnA6c\u00e9==", {}, id="not-ascii"),
        pytest.param(basic(b"rp:\xff"), {}, id="not-utf8"),
        pytest.param(basic("rp:%ff"), {}, id="percent-escape-not-utf8"),
        pytest.param(basic("rp"), {}, id="no-colon"),
        pytest.param(basic(":s"), {}, id="empty-id"),
        pytest.param(basic("rp:"), {}, id="empty-secret"),
    ],
)  # fmt: skip
def test_a_failed_authentication_is_one_invalid_client(
    authorization: str | None, form: dict[str, list[str]]
) -> None:
    with pytest.raises(CredentialsRefused) as caught:
        parse_client_credentials(authorization, form)
    assert (caught.value.error, caught.value.description) == ("invalid_client", FAILED)
    assert str(caught.value) == f"invalid_client: {FAILED}"


@pytest.mark.parametrize(
    ("form", "description"),
    [
        ({"client_secret": ["s"]}, "both in the Authorization header and in the body"),
        ({"client_assertion": ["eyJ..."]}, "both in the Authorization header and in the body"),
        ({"client_id": ["other"]}, "the body's client_id is not the Authorization header's"),
    ],
)
def test_two_methods_in_one_request_are_an_invalid_request(
    form: dict[str, list[str]], description: str
) -> None:
    """RFC 6749 §2.3: "MUST NOT use more than one authentication method in each request"."""
    with pytest.raises(CredentialsRefused) as caught:
        parse_client_credentials(basic("rp:s"), form)
    assert caught.value.error == "invalid_request"
    assert description in caught.value.description


def test_two_methods_are_refused_before_the_header_is_read() -> None:
    with pytest.raises(CredentialsRefused) as caught:
        parse_client_credentials("Basic !!!!", {"client_secret": ["s"]})
    assert caught.value.error == "invalid_request"
