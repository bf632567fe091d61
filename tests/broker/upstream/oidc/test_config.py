"""OIDC connection settings are untrusted input: every refusal names its field, secrets are
stored encrypted and bound to their connection, and a new connection is checked against the
live discovery document before it is saved (R-05)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker.errors import ConfigError
from broker.keys.crypto import KeyDecryptionError
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.oidc.setup import check_provider
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.urls import endpoints_for
from tests.broker.upstream.oidc.conftest import BOX, CONNECTION_ID, make_config
from tests.support.config import ISSUER
from tests.support.mock_op import CLIENT_SECRET, MockOp

PRODUCTION = OutboundPolicy(allow_http=False)


def test_a_new_config_round_trips_with_the_secret_encrypted() -> None:
    stored = make_config()
    parsed = OidcConnectionConfig.parse(stored)
    assert parsed.to_json() == stored
    assert CLIENT_SECRET not in json.dumps(stored)
    assert parsed.client_secret(BOX, CONNECTION_ID) == CLIENT_SECRET
    assert parsed.scopes == ("openid", "profile", "email")
    assert parsed.clock_skew_seconds == 120


def test_a_secret_copied_into_another_connection_does_not_decrypt() -> None:
    parsed = OidcConnectionConfig.parse(make_config())
    with pytest.raises(KeyDecryptionError):
        parsed.client_secret(BOX, "con_other")


def test_private_key_jwt_stores_only_the_public_half_in_clear() -> None:
    stored = make_config(token_endpoint_auth_method="private_key_jwt", client_secret=None)
    key = stored["client_key"]
    assert "d" not in key["public_jwk"]
    assert key["public_jwk"]["kid"]
    assert "PRIVATE KEY" not in json.dumps(stored)
    assert "client_secret_encrypted" not in stored


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"issuer": "ftp://op.test"}, "issuer"),
        ({"issuer": "https://op.test?tenant=1"}, "issuer"),
        ({"issuer": "https://user:pw@op.test"}, "issuer"),
        ({"client_id": ""}, "client_id"),
        ({"vendor": "myspace"}, "vendor"),
        ({"token_endpoint_auth_method": "none"}, "token_endpoint_auth_method"),
        ({"scopes": ["profile", "email"]}, "scopes"),
        ({"scopes": ["openid", "with space"]}, "scopes"),
        ({"id_token_algorithms": ["HS256"]}, "id_token_algorithms"),
        ({"id_token_algorithms": ["none"]}, "id_token_algorithms"),
        ({"id_token_algorithms": []}, "id_token_algorithms"),
        ({"clock_skew_seconds": 301}, "clock_skew_seconds"),
        ({"required_claims": ["password"]}, "required_claims"),
        ({"attribute_mapping": {"email": []}}, "attribute_mapping.email"),
        ({"endpoints": {"token_endpoint": "https://op.test/t"}}, "authorization_endpoint"),
        ({"endpoints": {"authorization_endpoint": "x", "token_endpoint": "x", "jwks_uri": "x"}},
         "endpoints.authorization_endpoint"),
        ({"endpoints": {"authorization_endpoint": "https://a", "token_endpoint": "https://t",
                        "jwks_uri": "https://j", "evil": "https://e"}}, "endpoints"),
        ({"always_fetch_userinfo": "yes"}, "always_fetch_userinfo"),
        ({"endpoints": ["https://op.test/t"]}, "endpoints"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "client_key"),
        ({"token_endpoint_auth_method": "private_key_jwt", "client_key": "pem"}, "client_key"),
        ({"token_endpoint_auth_method": "private_key_jwt",
          "client_key": {"private_key_encrypted": 1, "public_jwk": {"kty": "RSA"}}}, "client_key"),
        ({"token_endpoint_auth_method": "private_key_jwt",
          "client_key": {"private_key_encrypted": "x", "public_jwk": "jwk"}}, "client_key"),
        # A public JWK holding the private exponent is a private key stored in clear.
        ({"token_endpoint_auth_method": "private_key_jwt",
          "client_key": {"private_key_encrypted": "x", "public_jwk": {"kty": "RSA", "d": "x"}}},
         "client_key"),
        ({"strategy": "adfs"}, "strategy"),  # ADFS offers no OIDC tile
        ({"request_timeout_seconds": 60}, "request_timeout_seconds"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as refused:
        OidcConnectionConfig.parse({**make_config(), **change})
    assert refused.value.field == field


MANUAL_ENDPOINTS = {
    "authorization_endpoint": "https://op.test/authorize",
    "token_endpoint": "https://op.test/token",
    "jwks_uri": "https://op.test/jwks",
}


@pytest.mark.parametrize(
    "options",
    [
        {"strategy": "okta", "request_timeout_seconds": 5},
        {"endpoints": MANUAL_ENDPOINTS},
        {"endpoints": {**MANUAL_ENDPOINTS, "userinfo_endpoint": "https://op.test/userinfo"}},
        {"endpoints": {**MANUAL_ENDPOINTS, "userinfo_endpoint": ""}},
        {"token_endpoint_auth_method": "private_key_jwt", "client_secret": None},
    ],
)
def test_optional_settings_round_trip(options: dict[str, Any]) -> None:
    stored = make_config(**options)
    parsed = OidcConnectionConfig.parse(stored)
    assert OidcConnectionConfig.parse(parsed.to_json()) == parsed
    assert parsed.to_json() == stored


def test_endpoints_set_by_hand_are_a_warning_for_whoever_configures_it() -> None:
    assert OidcConnectionConfig.parse(make_config()).warnings() == ()
    (warning,) = OidcConnectionConfig.parse(make_config(endpoints=MANUAL_ENDPOINTS)).warnings()
    assert "Endpoints are set by hand" in warning


def test_an_unfinished_oidc_connection_publishes_nothing() -> None:
    """Its `private_key_jwt` key comes with the IdP's values; before them, nothing exists."""
    endpoints = endpoints_for(ISSUER, CONNECTION_ID, "oidc")
    assert OidcConnectionConfig.describe_unfinished({}, endpoints) is None
    assert OidcConnectionConfig.describe_unfinished(make_config(), endpoints) is None


def test_check_provider_with_endpoints_set_by_hand_fetches_nothing(op: MockOp) -> None:
    config = OidcConnectionConfig.parse(make_config(endpoints=MANUAL_ENDPOINTS))
    checked = check_provider(config, op.client(), policy=PRODUCTION)
    assert checked.metadata.token_endpoint == "https://op.test/token"
    assert checked.metadata.jwks_uri == "https://op.test/jwks"
    assert checked.warnings == ()
    assert op.requests == []


@pytest.mark.parametrize(
    ("methods", "warned"), [(["plain"], True), (["plain", "S256"], False), ([], False)]
)
def test_check_provider_warns_when_pkce_s256_is_not_advertised(
    op: MockOp, methods: list[str], warned: bool
) -> None:
    op.discovery_changes = {"code_challenge_methods_supported": methods}
    checked = check_provider(
        OidcConnectionConfig.parse(make_config()), op.client(), policy=PRODUCTION
    )
    expected = ("The IdP does not advertise PKCE S256; Gatehouse sends it anyway.",)
    assert checked.warnings == (expected if warned else ())


def test_a_secret_method_without_a_secret_is_refused() -> None:
    stored = make_config()
    del stored["client_secret_encrypted"]
    with pytest.raises(ConfigError) as refused:
        OidcConnectionConfig.parse(stored)
    assert refused.value.field == "client_secret"


def test_check_provider_accepts_a_sound_discovery_document(op: MockOp) -> None:
    checked = check_provider(
        OidcConnectionConfig.parse(make_config()), op.client(), policy=PRODUCTION
    )
    assert checked.metadata.token_endpoint == "https://op.test/token"
    assert checked.metadata.iss_parameter_supported is True
    assert checked.warnings == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuer": "https://evil.test"}, "https://evil.test"),
        ({"jwks_uri": None}, "missing jwks_uri"),
        ({"id_token_signing_alg_values_supported": ["HS256", "none"]}, "signs with"),
        ({"token_endpoint": "file:///etc/passwd"}, "token_endpoint"),
    ],
)
def test_check_provider_refuses_a_document_that_cannot_serve_the_connection(
    op: MockOp, changes: dict[str, Any], message: str
) -> None:
    op.discovery_changes = changes
    with pytest.raises(ConfigError) as refused:
        check_provider(OidcConnectionConfig.parse(make_config()), op.client(), policy=PRODUCTION)
    assert refused.value.field == "issuer"
    assert message in refused.value.message


def test_check_provider_warns_about_an_auth_method_the_idp_does_not_list(op: MockOp) -> None:
    op.discovery_changes = {"token_endpoint_auth_methods_supported": ["client_secret_post"]}
    checked = check_provider(
        OidcConnectionConfig.parse(make_config()), op.client(), policy=PRODUCTION
    )
    assert "client_secret_basic" in checked.warnings[0]


def test_check_provider_refuses_an_http_issuer_in_production(op: MockOp) -> None:
    op.issuer = "http://op.test"
    with pytest.raises(ConfigError, match="not an https URL"):
        check_provider(
            OidcConnectionConfig.parse(make_config(issuer="http://op.test")),
            op.client(),
            policy=PRODUCTION,
        )
    assert op.requests == []
