"""What an IdP's JSON can hold that a JSON parser, or Python, reads too generously (issue 12):
non-finite numbers (`json.loads` accepts NaN and Infinity, and `1e400` becomes infinity),
numbers no time can be, booleans where numbers belong (`True` is an int), text where only
ASCII makes sense (kid, alg, typ, nonce, at_hash, the access token), strings the store cannot
keep (a lone surrogate, NUL), and nesting deep enough to exhaust the parser's recursion.

Every one is refused with a stable reason, in every document the IdP sends: the ID token's
header and claims (signed for real, so the checks after the signature are reached), the
token response, userinfo, discovery and the JWKS. None is accepted; none escapes as another
exception (a 500, with the flow spent and no audit event).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey

from broker.upstream.base import CallbackInput, UpstreamInvalid
from tests.broker.upstream.oidc.conftest import Rp, RpFactory
from tests.support.mock_op import MockOp, at_hash, b64url

#: Nesting past Python's recursion limit: `json.loads` raises RecursionError.
DEEP = "[" * 5000 + "]" * 5000
SLOT = "@@raw@@"


def signed(key: RSAKey, header: dict[str, Any] | str, payload: str) -> str:
    """A JWS over exactly these bytes (no library would write NaN or a lone surrogate)."""
    head = header if isinstance(header, str) else json.dumps(header)
    signing_input = f"{b64url(head.encode())}.{b64url(payload.encode())}"
    private = key.raw_value
    assert isinstance(private, rsa.RSAPrivateKey)
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def raw_claims(op: MockOp, claim: str, raw: str) -> None:
    """The OP's next ID token carries `claim` as the JSON text `raw`, validly signed."""
    op.claims_changes = {claim: SLOT}
    op.sign = lambda header, claims: signed(
        op.key, header, json.dumps(claims).replace(f'"{SLOT}"', raw)
    )


def raw_header(op: MockOp, header: str) -> None:
    op.sign = lambda _, claims: signed(op.key, header, json.dumps(claims))


def answering(op: MockOp, path: str, body: bytes) -> None:
    """The OP answers `path` with exactly `body`; everything else as before."""
    original = op.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == path:
            op.requests.append(request)
            if path == "/token":  # the code must still be spent, as a real OP would
                original(request)
            return httpx.Response(200, content=body, headers={"content-type": "application/json"})
        return original(request)

    op.handle = handle  # type: ignore[method-assign]


def refusal(action: Callable[[], object]) -> UpstreamInvalid:
    with pytest.raises(UpstreamInvalid) as refused:
        action()
    return refused.value


# -- times --------------------------------------------------------------------------------

NOT_A_TIME = [
    "NaN",  # a NaN exp was accepted: every comparison with NaN is False
    "Infinity",
    "-Infinity",
    "1e400",  # json reads it as inf
    "true",  # True is an int in Python
    "false",
    "-1",
    "253402300800",  # 10000-01-01: no datetime can hold it
    "1" + "0" * 30,
    "1" + "0" * 400,  # int + float overflows
    '"1700000000"',
    "[1]",
]


@pytest.mark.parametrize("raw", NOT_A_TIME)
@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "auth_time"])
def test_a_time_claim_that_is_not_a_time_is_refused(
    rp: Rp, op: MockOp, claim: str, raw: str
) -> None:
    raw_claims(op, claim, raw)
    assert rp.reason() == "id_token_malformed"


# -- the header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "RS256", "kid": "kéy"}, "id_token_malformed"),
        ({"alg": "RS256", "kid": "k\x00"}, "id_token_malformed"),
        ({"alg": "RS256", "kid": "k" * 5000}, "id_token_malformed"),
        ({"alg": "RS256", "kid": 5}, "id_token_malformed"),
        ({"alg": "RS256", "typ": "JWTé"}, "id_token_malformed"),
        ({"alg": "RS256", "typ": 1}, "id_token_malformed"),
        ({"alg": "RS256é"}, "algorithm_not_allowed"),
        ({"alg": ["RS256"]}, "algorithm_not_allowed"),
        ({"alg": True}, "algorithm_not_allowed"),
    ],
)
def test_header_members_that_must_be_ascii_text_are_refused(
    rp: Rp, op: MockOp, header: dict[str, Any], reason: str
) -> None:
    raw_header(op, json.dumps({"kid": op.key.kid, **header}))
    assert rp.reason() == reason


@pytest.mark.parametrize(
    "header",
    [
        '{"alg": "RS256", "kid": "%s", "x": NaN}',
        '{"alg": "RS256", "kid": "%s", "x": "\\ud800"}',
        '{"alg": "RS256", "kid": "%s", "x": ' + DEEP + "}",
    ],
)
def test_a_header_that_is_not_strict_json_is_refused(rp: Rp, op: MockOp, header: str) -> None:
    raw_header(op, header % op.key.kid)
    assert rp.reason() == "id_token_malformed"


def test_an_id_token_that_is_not_ascii_is_refused(rp: Rp, op: MockOp) -> None:
    op.sign = lambda header, claims: "é.é.é"
    assert rp.reason() == "id_token_malformed"


# -- the claims ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "raw", "reason"),
    [
        ("nonce", '"nonçe"', "nonce_mismatch"),  # compare_digest raised TypeError
        ("nonce", "1", "nonce_mismatch"),
        ("at_hash", '"hàsh"', "at_hash_mismatch"),  # compare_digest raised TypeError
        ("at_hash", "true", "at_hash_mismatch"),
        ("sub", '"\\ud800"', "id_token_malformed"),  # the store cannot encode it
        ("sub", '"user\\u0000"', "id_token_malformed"),  # PostgreSQL refuses NUL
        ("email", '"ann\\u0000@acme.test"', "id_token_malformed"),
        ("name", '"\\udfff"', "id_token_malformed"),
        ("groups", '["ok", NaN]', "id_token_malformed"),
        ("extra", "1e400", "id_token_malformed"),  # stored and re-signed as JSON: no inf
        ("extra", "-Infinity", "id_token_malformed"),
        ("extra", DEEP, "id_token_malformed"),  # RecursionError
        ("extra", '{"\\ud800": 1}', "id_token_malformed"),  # a key counts too
    ],
)
def test_claims_that_are_not_strict_json_or_not_ascii_where_needed_are_refused(
    rp: Rp, op: MockOp, claim: str, raw: str, reason: str
) -> None:
    raw_claims(op, claim, raw)
    assert rp.reason() == reason


def test_boolean_groups_are_not_group_names(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"groups": ["engineering", True, 7]}
    assert rp.login().groups == ("engineering", "7")


# -- the token response ------------------------------------------------------------------------


def _token_body(op: MockOp, **changes: str) -> bytes:
    """A token response as JSON text, members replaced by raw JSON text."""
    members = {
        "access_token": json.dumps(op.access_token),
        "token_type": '"Bearer"',
        "expires_in": "300",
        "id_token": SLOT,
        **changes,
    }
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in members.items()) + "}").encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"expires_in": "NaN"},
        {"expires_in": "1e400"},
        {"access_token": '"tokén"'},  # hashing it for at_hash raised UnicodeEncodeError
        {"access_token": '"tok\\u0000en"'},
        {"access_token": '"\\ud800"'},
        {"access_token": "true"},
        {"extra": DEEP},
    ],
)
def test_a_token_response_that_is_not_strict_json_is_refused(
    make_rp: RpFactory, op: MockOp, changes: dict[str, str]
) -> None:
    rp = make_rp()
    flow, authorization = rp.begin()
    id_token = json.dumps(op.id_token_for(authorization))
    body = _token_body(op, **changes).replace(SLOT.encode(), id_token.encode())
    answering(op, "/token", body)
    answer = op.answer(authorization)
    error = refusal(lambda: rp.connector.complete_login(flow, CallbackInput(query=answer)))
    assert error.reason == "token_response_invalid"


def test_an_access_token_of_printable_ascii_still_works(rp: Rp, op: MockOp) -> None:
    op.access_token = "tok en~!" * 4
    op.claims_changes = {"at_hash": at_hash(op.access_token)}
    assert rp.login().email == "ann@acme.test"


# -- userinfo, discovery, JWKS -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"sub": "user-123", "email": "ann@acme.test", "x": NaN}',
        b'{"sub": "user-123", "email": "\\ud800@acme.test"}',
        b'{"sub": "user-123", "x": ' + DEEP.encode() + b"}",
        b"\xff\xfe",
    ],
)
def test_userinfo_that_is_not_strict_json_is_refused(
    make_rp: RpFactory, op: MockOp, body: bytes
) -> None:
    rp = make_rp(always_fetch_userinfo=True)
    answering(op, "/userinfo", body)
    assert rp.reason() == "userinfo_invalid"


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("x", "NaN", "discovery_invalid"),
        ("x", DEEP, "discovery_invalid"),
        ("token_endpoint", '"https://[op.test/token"', "discovery_invalid"),  # ValueError
        ("jwks_uri", '"https://op.test:99999/jwks.json"', "discovery_invalid"),
        ("issuer", '"\\ud800"', "discovery_invalid"),
    ],
)
def test_discovery_that_is_not_strict_json_or_has_no_urls_is_refused(
    make_rp: RpFactory, op: MockOp, name: str, raw: str, reason: str
) -> None:
    document = {**op.discovery(), name: SLOT}
    answering(op, "/.well-known/openid-configuration", _with_raw(document, raw))
    assert refusal(make_rp().begin).reason == reason


@pytest.mark.parametrize(
    "body",
    [b'{"keys": [], "x": NaN}', b'{"keys": ' + DEEP.encode() + b"}", b'{"keys": "\\ud800"}'],
)
def test_a_jwks_that_is_not_strict_json_is_refused(rp: Rp, op: MockOp, body: bytes) -> None:
    op.jwks_body = body
    assert rp.reason() == "jwks_invalid"


@pytest.mark.parametrize(
    "odd",
    [
        {"kty": "EC", "crv": "P-999", "x": "AA", "y": "AA", "kid": "odd"},  # KeyError in joserfc
        {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA", "kid": "odd"},
        {"kty": "EC", "crv": ["P-256"], "x": "AA", "y": "AA", "kid": "odd"},
        {"kty": "RSA", "n": 5, "e": "AQAB", "kid": "odd"},
    ],
)
def test_a_key_that_cannot_be_read_is_skipped_not_fatal(
    rp: Rp, op: MockOp, odd: dict[str, Any]
) -> None:
    """RFC 7517 §5: a key the reader does not understand is ignored; the others still
    verify (one IdP key of a curve we do not support must not stop every login)."""
    keys = [odd, op.key.as_dict(private=False)]
    op.jwks_body = json.dumps({"keys": keys}).encode()
    assert rp.login().email == "ann@acme.test"


def _with_raw(document: dict[str, Any], raw: str) -> bytes:
    return json.dumps(document).replace(f'"{SLOT}"', raw).encode()
