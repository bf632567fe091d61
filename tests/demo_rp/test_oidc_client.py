"""The demo RP must be strict: later it is pointed at the real Gatehouse to catch its mistakes.

Each refusal test breaks one thing in an otherwise correct fake OP and asserts the stable
`reason`, so a test cannot pass because the RP failed for some other cause.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey

from demo_rp.oidc_client import (
    AuthorizationError,
    DiscoveryFailed,
    IdTokenInvalid,
    LoginFailed,
    LoginState,
    RelyingParty,
    VerifiedLogin,
)
from tests.demo_rp.fake_op import (
    CLIENT_ID,
    CLIENT_SECRET,
    DROP,
    EMAIL,
    IMPOSTOR_KEY,
    ISSUER,
    REDIRECT_URI,
    SIGNING_KEY,
    SUB,
    FakeOP,
    at_hash,
    b64url,
    hs256_with_public_key,
    public_jwk,
    unsigned,
)


@pytest.fixture
def op() -> FakeOP:
    return FakeOP()


@pytest.fixture
def http(op: FakeOP) -> Iterator[httpx.Client]:
    with httpx.Client(transport=op.transport()) as client:
        yield client


@pytest.fixture
def rp(http: httpx.Client) -> RelyingParty:
    return RelyingParty(ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, http)


def log_in(op: FakeOP, rp: RelyingParty, **callback_overrides: Any) -> VerifiedLogin:
    url, saved = rp.start_login()
    params = op.authorize(url)
    for name, value in callback_overrides.items():
        if value is DROP:
            params.pop(name, None)
        else:
            params[name] = value
    return rp.finish_login(params, saved)


def refused(op: FakeOP, rp: RelyingParty, **callback_overrides: Any) -> LoginFailed:
    with pytest.raises(LoginFailed) as info:
        log_in(op, rp, **callback_overrides)
    return info.value


class TestAcceptsACorrectProvider:
    def test_returns_the_verified_claims_and_userinfo(self, op: FakeOP, rp: RelyingParty) -> None:
        login = log_in(op, rp)

        assert login.id_token_claims["sub"] == SUB
        assert login.id_token_claims["iss"] == ISSUER
        assert login.id_token_claims["email"] == EMAIL
        assert login.userinfo == {"sub": SUB, "email": EMAIL}
        assert login.id_token.count(".") == 2

    def test_authorization_request_uses_pkce_s256_state_and_nonce(
        self, op: FakeOP, rp: RelyingParty
    ) -> None:
        url, saved = rp.start_login(login_hint="alice@customer.example", extra={"prompt": "login"})

        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["response_type"] == "code"
        assert query["client_id"] == CLIENT_ID
        assert query["redirect_uri"] == REDIRECT_URI
        assert query["scope"] == "openid profile email"
        assert query["state"] == saved.state
        assert query["nonce"] == saved.nonce
        assert query["code_challenge_method"] == "S256"
        assert query["code_challenge"] == b64url(
            hashlib.sha256(saved.code_verifier.encode()).digest()
        )
        assert query["login_hint"] == "alice@customer.example"
        assert query["prompt"] == "login"
        assert 43 <= len(saved.code_verifier) <= 128

    def test_every_login_gets_fresh_secrets(self, rp: RelyingParty) -> None:
        _, first = rp.start_login()
        _, second = rp.start_login()

        assert first.state != second.state
        assert first.nonce != second.nonce
        assert first.code_verifier != second.code_verifier

    def test_extra_cannot_replace_a_protocol_parameter(self, rp: RelyingParty) -> None:
        with pytest.raises(ValueError, match="state"):
            rp.start_login(extra={"state": "attacker-chosen"})

    def test_redeems_the_code_with_client_secret_post_and_the_verifier(
        self, op: FakeOP, rp: RelyingParty
    ) -> None:
        log_in(op, rp)

        (form,) = op.token_forms
        assert form["grant_type"] == "authorization_code"
        assert form["client_id"] == CLIENT_ID
        assert form["client_secret"] == CLIENT_SECRET
        assert form["redirect_uri"] == REDIRECT_URI
        token_request = next(r for r in op.requests if r.url.path == "/token")
        assert "authorization" not in token_request.headers

    def test_calls_userinfo_with_the_access_token_as_bearer(
        self, op: FakeOP, rp: RelyingParty
    ) -> None:
        log_in(op, rp)

        userinfo_request = next(r for r in op.requests if r.url.path == "/userinfo")
        assert userinfo_request.headers["authorization"] == f"Bearer {op.access_token}"

    def test_iss_parameter_is_optional_when_not_advertised(
        self, op: FakeOP, rp: RelyingParty
    ) -> None:
        op.metadata["authorization_response_iss_parameter_supported"] = False

        assert log_in(op, rp, iss=DROP).id_token_claims["sub"] == SUB

    def test_several_audiences_with_azp_naming_us(self, op: FakeOP, rp: RelyingParty) -> None:
        op.claim_overrides = {"aud": [CLIENT_ID, "another-api"], "azp": CLIENT_ID}

        assert log_in(op, rp).id_token_claims["aud"] == [CLIENT_ID, "another-api"]

    def test_no_store_among_other_cache_directives(self, op: FakeOP, rp: RelyingParty) -> None:
        op.token_headers = {"Cache-Control": "private, No-Store"}

        assert log_in(op, rp).id_token_claims["sub"] == SUB

    def test_refetches_the_jwks_when_the_provider_rotates_keys(
        self, op: FakeOP, rp: RelyingParty
    ) -> None:
        log_in(op, rp)
        rotated = RSAKey.generate_key(2048, parameters={"kid": "key-2"}, private=True)
        op.published_keys.append(public_jwk(rotated))
        op.signing_key = rotated

        assert log_in(op, rp).id_token_claims["sub"] == SUB
        assert sum(r.url.path == "/jwks" for r in op.requests) == 2

    def test_discovery_is_fetched_once(self, op: FakeOP, rp: RelyingParty) -> None:
        log_in(op, rp)
        log_in(op, rp)

        assert sum(r.url.path.endswith("openid-configuration") for r in op.requests) == 1


class TestRefusesBadDiscovery:
    @pytest.mark.parametrize(
        ("name", "value", "reason"),
        [
            ("issuer", ISSUER + "/", "discovery_issuer_mismatch"),
            ("issuer", "https://OP.example", "discovery_issuer_mismatch"),
            ("issuer", DROP, "discovery_issuer_mismatch"),
            ("response_types_supported", ["id_token"], "code_flow_unsupported"),
            ("code_challenge_methods_supported", ["plain"], "pkce_s256_unsupported"),
            ("code_challenge_methods_supported", DROP, "pkce_s256_unsupported"),
            ("id_token_signing_alg_values_supported", ["HS256"], "id_token_alg_unsupported"),
            ("token_endpoint_auth_methods_supported", DROP, "client_auth_method_unsupported"),
            ("token_endpoint", DROP, "discovery_incomplete"),
            ("jwks_uri", DROP, "discovery_incomplete"),
            ("response_types_supported", "code", "discovery_invalid"),
        ],
    )
    def test_refuses(
        self, op: FakeOP, rp: RelyingParty, name: str, value: object, reason: str
    ) -> None:
        if value is DROP:
            del op.metadata[name]
        else:
            op.metadata[name] = value

        with pytest.raises(DiscoveryFailed) as info:
            rp.start_login()

        assert info.value.reason == reason

    def test_a_failed_discovery_is_retried(self, op: FakeOP, rp: RelyingParty) -> None:
        op.metadata["issuer"] = "https://evil.example"
        with pytest.raises(DiscoveryFailed):
            rp.discover()
        op.metadata["issuer"] = ISSUER

        assert rp.discover()["issuer"] == ISSUER

    def test_an_unreachable_provider(self, rp: RelyingParty) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        with httpx.Client(transport=httpx.MockTransport(refuse)) as http:
            offline = RelyingParty(ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, http)
            with pytest.raises(DiscoveryFailed) as info:
                offline.discover()

        assert info.value.reason == "discovery_unreachable"


class TestRefusesBadAuthorizationResponses:
    def test_state_mismatch(self, op: FakeOP, rp: RelyingParty) -> None:
        assert refused(op, rp, state="forged").reason == "state_mismatch"

    def test_missing_state(self, op: FakeOP, rp: RelyingParty) -> None:
        assert refused(op, rp, state=DROP).reason == "state_mismatch"

    def test_state_from_another_login(self, op: FakeOP, rp: RelyingParty) -> None:
        url, _ = rp.start_login()
        _, other = rp.start_login()

        with pytest.raises(LoginFailed) as info:
            rp.finish_login(op.authorize(url), other)

        assert info.value.reason == "state_mismatch"
        assert op.token_forms == []

    def test_missing_iss_when_advertised(self, op: FakeOP, rp: RelyingParty) -> None:
        assert refused(op, rp, iss=DROP).reason == "iss_parameter_missing"

    def test_wrong_iss(self, op: FakeOP, rp: RelyingParty) -> None:
        assert refused(op, rp, iss="https://evil.example").reason == "iss_parameter_mismatch"

    def test_wrong_iss_even_when_not_advertised(self, op: FakeOP, rp: RelyingParty) -> None:
        op.metadata["authorization_response_iss_parameter_supported"] = False

        assert refused(op, rp, iss="https://evil.example").reason == "iss_parameter_mismatch"

    def test_provider_error_is_surfaced(self, op: FakeOP, rp: RelyingParty) -> None:
        failure = refused(
            op, rp, code=DROP, error="access_denied", error_description="User said no"
        )

        assert isinstance(failure, AuthorizationError)
        assert failure.reason == "authorization_error"
        assert failure.error == "access_denied"
        assert failure.error_description == "User said no"
        assert op.token_forms == []

    def test_missing_code(self, op: FakeOP, rp: RelyingParty) -> None:
        assert refused(op, rp, code=DROP).reason == "code_missing"


class TestRefusesBadTokenResponses:
    def test_missing_cache_control_no_store(self, op: FakeOP, rp: RelyingParty) -> None:
        op.token_headers = {}

        assert refused(op, rp).reason == "token_response_cacheable"

    def test_cache_control_without_no_store(self, op: FakeOP, rp: RelyingParty) -> None:
        op.token_headers = {"Cache-Control": "no-cache", "Pragma": "no-cache"}

        assert refused(op, rp).reason == "token_response_cacheable"

    def test_token_endpoint_error(self, op: FakeOP, rp: RelyingParty) -> None:
        url, saved = rp.start_login()
        params = op.authorize(url)
        params["code"] = "not-a-code-the-op-issued"

        with pytest.raises(LoginFailed) as info:
            rp.finish_login(params, saved)

        assert info.value.reason == "token_error"
        assert info.value.detail == "HTTP 400 invalid_grant"

    def test_verifier_is_what_binds_the_code(self, op: FakeOP, rp: RelyingParty) -> None:
        url, saved = rp.start_login()
        params = op.authorize(url)
        stolen = LoginState(saved.state, saved.nonce, code_verifier="x" * 43)

        with pytest.raises(LoginFailed) as info:
            rp.finish_login(params, stolen)

        assert info.value.reason == "token_error"


class TestRefusesBadIdTokens:
    @pytest.mark.parametrize(
        ("overrides", "reason"),
        [
            ({"iss": "https://evil.example"}, "id_token_iss_mismatch"),
            ({"iss": ISSUER + "/"}, "id_token_iss_mismatch"),
            ({"aud": "someone-else"}, "id_token_aud_mismatch"),
            ({"aud": ["someone-else", "another"]}, "id_token_aud_mismatch"),
            ({"aud": DROP}, "id_token_aud_mismatch"),
            ({"aud": [CLIENT_ID, "another-api"]}, "id_token_azp_mismatch"),
            ({"aud": [CLIENT_ID, "another-api"], "azp": "another-api"}, "id_token_azp_mismatch"),
            ({"azp": "someone-else"}, "id_token_azp_mismatch"),
            ({"exp": int(time.time()) - 10}, "id_token_expired"),
            ({"exp": DROP}, "id_token_exp_invalid"),
            ({"exp": "tomorrow"}, "id_token_exp_invalid"),
            ({"iat": DROP}, "id_token_iat_invalid"),
            ({"iat": int(time.time()) + 3600}, "id_token_iat_in_future"),
            ({"nbf": int(time.time()) + 3600}, "id_token_not_yet_valid"),
            ({"nonce": "replayed-nonce"}, "id_token_nonce_mismatch"),
            ({"nonce": DROP}, "id_token_nonce_mismatch"),
            ({"at_hash": at_hash("some-other-access-token")}, "id_token_at_hash_mismatch"),
            ({"at_hash": DROP}, "id_token_at_hash_missing"),
            ({"sub": DROP}, "id_token_sub_missing"),
        ],
    )
    def test_refuses_claims(
        self, op: FakeOP, rp: RelyingParty, overrides: dict[str, Any], reason: str
    ) -> None:
        op.claim_overrides = overrides

        failure = refused(op, rp)

        assert isinstance(failure, IdTokenInvalid)
        assert failure.reason == reason

    def test_at_hash_may_be_optional_when_configured(self, op: FakeOP, http: httpx.Client) -> None:
        lenient = RelyingParty(
            ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, http, require_at_hash=False
        )
        op.claim_overrides = {"at_hash": DROP}

        assert log_in(op, lenient).id_token_claims["sub"] == SUB

    def test_at_hash_is_still_checked_when_optional(self, op: FakeOP, http: httpx.Client) -> None:
        lenient = RelyingParty(
            ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, http, require_at_hash=False
        )
        op.claim_overrides = {"at_hash": at_hash("some-other-access-token")}

        assert refused(op, lenient).reason == "id_token_at_hash_mismatch"

    def test_alg_none(self, op: FakeOP, rp: RelyingParty) -> None:
        op.forge = unsigned

        assert refused(op, rp).reason == "id_token_alg_not_allowed"

    def test_hs256_keyed_with_the_public_key(self, op: FakeOP, rp: RelyingParty) -> None:
        op.forge = hs256_with_public_key

        assert refused(op, rp).reason == "id_token_alg_not_allowed"

    def test_rs512_is_not_on_the_allow_list(self, op: FakeOP, rp: RelyingParty) -> None:
        op.header_overrides = {"alg": "RS512"}

        assert refused(op, rp).reason == "id_token_alg_not_allowed"

    def test_missing_kid(self, op: FakeOP, rp: RelyingParty) -> None:
        op.header_overrides = {"kid": DROP}

        assert refused(op, rp).reason == "id_token_kid_missing"

    def test_unknown_kid(self, op: FakeOP, rp: RelyingParty) -> None:
        op.header_overrides = {"kid": "key-nobody-published"}

        assert refused(op, rp).reason == "id_token_unknown_kid"

    def test_signature_by_another_key_under_a_known_kid(self, op: FakeOP, rp: RelyingParty) -> None:
        op.signing_key = IMPOSTOR_KEY

        assert refused(op, rp).reason == "id_token_bad_signature"

    def test_tampered_payload(self, op: FakeOP, rp: RelyingParty) -> None:
        def sign_then_tamper(header: dict[str, Any], claims: dict[str, Any]) -> str:
            signed = jwt.encode(header, claims, SIGNING_KEY, algorithms=["RS256"])
            encoded_header, _, signature = signed.split(".")
            forged = b64url(json.dumps({**claims, "sub": "admin"}).encode())
            return f"{encoded_header}.{forged}.{signature}"

        op.forge = sign_then_tamper

        assert refused(op, rp).reason == "id_token_bad_signature"

    def test_encryption_keys_in_the_jwks_are_not_used(self, op: FakeOP, rp: RelyingParty) -> None:
        enc_key = RSAKey.generate_key(2048, parameters={"kid": "enc-1"}, private=True)
        op.published_keys.append(public_jwk(enc_key, use="enc"))
        op.signing_key = enc_key

        assert refused(op, rp).reason == "id_token_unknown_kid"

    def test_a_jwk_for_another_algorithm_is_not_used(self, op: FakeOP, rp: RelyingParty) -> None:
        op.published_keys = [public_jwk(SIGNING_KEY, alg="PS256")]

        assert refused(op, rp).reason == "id_token_unknown_kid"

    def test_a_short_rsa_key_is_not_used(self, op: FakeOP, rp: RelyingParty) -> None:
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
        numbers = weak.public_key().public_numbers()
        op.published_keys = [
            {
                "kty": "RSA",
                "kid": "key-1",
                "n": b64url(numbers.n.to_bytes(128, "big")),
                "e": b64url(numbers.e.to_bytes(3, "big")),
            }
        ]

        assert refused(op, rp).reason == "id_token_unknown_kid"

    def test_garbage(self, op: FakeOP, rp: RelyingParty) -> None:
        op.forge = lambda header, claims: "not-a-jwt"

        assert refused(op, rp).reason == "id_token_malformed"


class TestRefusesBadUserinfo:
    def test_sub_mismatch(self, op: FakeOP, rp: RelyingParty) -> None:
        op.userinfo_sub = "someone-else"

        assert refused(op, rp).reason == "userinfo_sub_mismatch"
