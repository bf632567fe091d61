"""The OIDC connector's less travelled paths, each against the mock OP with real signed
tokens: what it publishes, a request the outbound policy refuses, userinfo unreachable, keys
it must skip, and the checks that pass when a claim is absent or fresh."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.errors import SecurityWarning

from broker.http import HttpResponse
from broker.upstream.base import CallbackInput, UpstreamInvalid, UpstreamUnavailable
from broker.upstream.oidc.provider_metadata import parse_provider_metadata
from broker.upstream.outbound import OutboundPolicy
from tests.broker.upstream.oidc.conftest import Rp, RpFactory
from tests.broker.upstream.oidc.test_hostile_json import raw_claims, raw_header
from tests.support.mock_op import REMOVE, MockOp, b64url

# -- what a connection publishes ------------------------------------------------------------


def test_a_secret_connection_publishes_nothing(rp: Rp) -> None:
    assert rp.connector.describe() is None


def test_a_private_key_jwt_connection_publishes_its_public_key(make_rp: RpFactory) -> None:
    rp = make_rp(token_endpoint_auth_method="private_key_jwt", client_secret=None)
    document = rp.connector.describe()
    assert isinstance(document, HttpResponse)
    assert document.headers == {"content-type": "application/json"}
    (key,) = json.loads(document.body)["keys"]
    assert rp.config.client_key is not None
    assert key == rp.config.client_key.public_jwk
    assert "d" not in key


# -- requests the outbound policy refuses ----------------------------------------------------


def test_a_jwks_uri_the_policy_refuses_is_a_configuration_problem(rp: Rp, op: MockOp) -> None:
    """An IdP's discovery naming an http JWKS in production: never fetched."""
    op.discovery_changes = {"jwks_uri": "http://op.test/jwks.json"}
    assert rp.reason() == "jwks_refused"
    assert not any(r.url.path == "/jwks.json" for r in op.requests)


def test_a_discovery_url_the_policy_refuses_is_never_fetched(
    make_rp: RpFactory, op: MockOp
) -> None:
    op.issuer = "http://op.test"
    rp = make_rp(issuer="http://op.test")
    with pytest.raises(UpstreamInvalid) as refused:
        rp.begin()
    assert refused.value.reason == "discovery_refused"
    assert refused.value.facts["url"] == "http://op.test/.well-known/openid-configuration"
    assert op.requests == []


def test_an_unreachable_userinfo_is_unavailability(make_rp: RpFactory, op: MockOp) -> None:
    rp = make_rp(always_fetch_userinfo=True)
    original = op.handle

    def no_userinfo(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/userinfo":
            return httpx.Response(503)
        return original(request)

    op.handle = no_userinfo  # type: ignore[method-assign]
    with pytest.raises(UpstreamUnavailable) as unavailable:
        rp.login()
    assert unavailable.value.reason == "userinfo_unavailable"
    assert unavailable.value.facts["url"] == "https://op.test/userinfo"


def test_a_userinfo_endpoint_the_policy_refuses_is_a_configuration_problem(
    make_rp: RpFactory, op: MockOp
) -> None:
    op.discovery_changes = {"userinfo_endpoint": "http://op.test/userinfo"}
    rp = make_rp(always_fetch_userinfo=True)
    assert rp.reason() == "userinfo_refused"
    assert not any(r.url.path == "/userinfo" for r in op.requests)


# -- keys it must skip ----------------------------------------------------------------------


def test_a_key_pinned_to_another_algorithm_is_not_used(rp: Rp, op: MockOp) -> None:
    op.jwks_body = json.dumps(
        {"keys": [{**op.key.as_dict(private=False), "alg": "RS512"}]}
    ).encode()
    assert rp.reason() == "unknown_key"


def test_a_key_pinned_to_the_tokens_algorithm_is_used(rp: Rp, op: MockOp) -> None:
    op.jwks_body = json.dumps(
        {"keys": [{**op.key.as_dict(private=False), "alg": "RS256"}]}
    ).encode()
    assert rp.login().email == "ann@acme.test"


def test_an_rsa_key_under_2048_bits_is_never_used(rp: Rp, op: MockOp) -> None:
    """The OP publishes a 1024-bit key and signs with it: the signature is valid, the key
    is not one we verify with."""
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    numbers = weak.public_key().public_numbers()
    jwk = {"kty": "RSA", "kid": op.key.kid, "e": b64url(numbers.e.to_bytes(3, "big")),
           "n": b64url(numbers.n.to_bytes(128, "big"))}  # fmt: skip
    op.jwks_body = json.dumps({"keys": [jwk]}).encode()

    def sign_weakly(header: dict[str, Any], claims: dict[str, Any]) -> str:
        signing_input = (
            f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        )
        signature = weak.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    op.sign = sign_weakly
    with pytest.warns(SecurityWarning):  # joserfc reading the key, before we set it aside
        assert rp.reason() == "unknown_key"


@pytest.mark.parametrize("body", [b'{"keys": {"kty": "RSA"}}', b"{}", b'{"keys": null}'])
def test_a_jwks_without_a_keys_array_is_refused(rp: Rp, op: MockOp, body: bytes) -> None:
    op.jwks_body = body
    assert rp.reason() == "jwks_invalid"


# -- ID token shapes ------------------------------------------------------------------------


def test_a_header_that_is_json_but_not_an_object_is_refused(rp: Rp, op: MockOp) -> None:
    raw_header(op, '["RS256"]')
    assert rp.reason() == "id_token_malformed"


def test_a_header_that_is_not_base64url_is_refused(rp: Rp, op: MockOp) -> None:
    """Five characters: no base64 decodes a length of 4n + 1."""
    op.sign = lambda header, claims: f"eyJhb.{b64url(json.dumps(claims).encode())}.c2ln"
    assert rp.reason() == "id_token_malformed"


def test_claims_nested_past_the_limit_are_refused(rp: Rp, op: MockOp) -> None:
    """Deeper than MAX_DEPTH, yet far from the parser's own recursion limit."""
    raw_claims(op, "extra", "[" * 40 + "]" * 40)
    assert rp.reason() == "id_token_malformed"


def test_a_token_without_at_hash_is_accepted(rp: Rp, op: MockOp) -> None:
    """at_hash is optional in the code flow (Core §3.1.3.6); when present it must match."""
    op.claims_changes = {"at_hash": REMOVE}
    assert rp.login().email == "ann@acme.test"


def test_max_age_is_met_by_a_recent_auth_time(rp: Rp, op: MockOp) -> None:
    flow, authorization = rp.begin(max_age=60)
    op.claims_changes = {"auth_time": int((rp.clock.now() - timedelta(seconds=30)).timestamp())}
    identity = rp.connector.complete_login(flow, CallbackInput(query=op.answer(authorization)))
    assert identity.email == "ann@acme.test"


def test_a_refused_time_says_when_the_token_was_issued(rp: Rp, op: MockOp) -> None:
    now = int(rp.clock.now().timestamp())
    op.claims_changes = {"nbf": now + 600, "iat": now - 5}
    with pytest.raises(UpstreamInvalid) as refused:
        rp.login()
    assert refused.value.reason == "not_yet_valid"
    assert refused.value.facts["time_field"] == "ID token nbf (not before)"
    assert refused.value.facts["clock_offset_seconds"] == "600"
    assert refused.value.facts["issue_instant_offset_seconds"] == "-5"
    assert refused.value.facts["allowed_skew_seconds"] == "120"


# -- discovery values of the wrong type ------------------------------------------------------


def test_a_list_member_of_the_wrong_type_counts_as_absent(op: MockOp) -> None:
    document = {**op.discovery(), "code_challenge_methods_supported": "S256",
                "token_endpoint_auth_methods_supported": ["client_secret_basic", 7]}  # fmt: skip
    metadata = parse_provider_metadata(json.dumps(document).encode(), issuer=op.issuer)
    assert metadata.code_challenge_methods == ()
    assert metadata.token_auth_methods == ("client_secret_basic",)


def test_an_entra_token_without_an_object_id_is_refused(make_rp: RpFactory, op: MockOp) -> None:
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    issuer = f"https://login.microsoftonline.com/{tenant}/v2.0"
    op.issuer = issuer
    rp = make_rp(vendor="entra", issuer=issuer, policy=OutboundPolicy(allow_http=False))
    op.claims_changes = {"tid": tenant, "oid": REMOVE}
    assert rp.reason() == "missing_subject"
    op.claims_changes = {"tid": tenant, "oid": ""}
    assert rp.reason() == "missing_subject"


# -- evidence for a portal test report --------------------------------------------------------


def test_the_evidence_is_the_verified_header_claims_and_userinfo_never_the_signature(
    make_rp: RpFactory, op: MockOp
) -> None:
    op.userinfo = {"sub": "user-123", "email": "ann@acme.test", "department": "R&D"}
    identity = make_rp(always_fetch_userinfo=True).login()
    assert identity.evidence is not None
    shown = identity.evidence()
    assert shown["userinfo"] == op.userinfo
    id_token = shown["id_token"]
    assert isinstance(id_token, dict)
    assert id_token["header"] == {"alg": "RS256", "kid": op.key.kid, "typ": "JWT"}
    assert id_token["claims"]["sub"] == "user-123"
    assert "signature" not in json.dumps(shown)
    assert op.access_token not in json.dumps(shown)


def test_without_userinfo_the_evidence_is_the_id_token_alone(rp: Rp) -> None:
    identity = rp.login()
    assert identity.evidence is not None
    assert set(identity.evidence()) == {"id_token"}


def test_a_token_refused_after_its_signature_verified_carries_it_as_evidence(
    rp: Rp, op: MockOp
) -> None:
    op.claims_changes = {"aud": "another-client"}
    with pytest.raises(UpstreamInvalid) as refused:
        rp.login()
    assert refused.value.reason == "wrong_audience"
    assert refused.value.evidence is not None
    shown = refused.value.evidence()
    assert shown["id_token"]["claims"]["aud"] == "another-client"
