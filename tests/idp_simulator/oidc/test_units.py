"""The OIDC side's small parts: configuration, start-up banner, URL and form rules, stores."""

from __future__ import annotations

import pytest

from idp_simulator.__main__ import _banner
from idp_simulator.config import DEFAULT_ALLOWED_ACS, SimulatorConfig
from idp_simulator.login_form import (
    OIDC_DEFAULT_FORM,
    LoginFormError,
    parse_oidc_login_form,
    resolve_oidc_scenario,
)
from idp_simulator.oidc.authorize import pkce_verifier_matches
from idp_simulator.oidc.client_auth import OAuthError, authenticate_client, bearer_token
from idp_simulator.oidc.id_token import identity_claims, subject_for
from idp_simulator.oidc.scenarios import OidcScenario
from idp_simulator.pending import PendingRequests
from idp_simulator.urls import with_query
from idp_simulator.user import SimulatedUser
from tests.idp_simulator.oidc_helpers import basic_header, pkce_pair


def test_oidc_config_defaults_generate_a_secret_per_start():
    first, second = SimulatorConfig.from_env({}), SimulatorConfig.from_env({})
    assert first.oidc_issuer == "http://127.0.0.1:7000/oidc"
    assert first.oidc_client_id == "gatehouse"
    assert first.oidc_client_secret_generated is True
    assert len(first.oidc_client_secret) >= 43
    assert first.oidc_client_secret != second.oidc_client_secret
    assert first.oidc_client_secret not in repr(first)


def test_oidc_config_from_env():
    config = SimulatorConfig.from_env(
        {
            "IDP_SIM_BASE_URL": "https://idp.test/",
            "IDP_SIM_OIDC_CLIENT_ID": " broker ",
            "IDP_SIM_OIDC_CLIENT_SECRET": "fixed-secret",
        }
    )
    assert config.oidc_issuer == "https://idp.test/oidc"
    assert (config.oidc_client_id, config.oidc_client_secret) == ("broker", "fixed-secret")
    assert config.oidc_client_secret_generated is False


def test_direct_construction_gets_its_own_secret():
    first, second = (
        SimulatorConfig(
            base_url="http://x.test", key_dir=None, allowed_acs_prefixes=DEFAULT_ALLOWED_ACS
        )
        for _ in range(2)
    )
    assert first.oidc_client_secret != second.oidc_client_secret
    assert first.oidc_client_secret_generated is False  # only from_env says it made one up
    with pytest.raises(ValueError, match="client id and secret"):
        SimulatorConfig(
            base_url="http://x.test",
            key_dir=None,
            allowed_acs_prefixes=DEFAULT_ALLOWED_ACS,
            oidc_client_id="",
        )


def test_banner_prints_a_generated_secret_only():
    generated = SimulatorConfig.from_env({})
    banner = _banner(generated)
    assert "http://127.0.0.1:7000/metadata" in banner
    assert "http://127.0.0.1:7000/oidc" in banner
    assert "gatehouse" in banner
    assert generated.oidc_client_secret in banner
    configured = SimulatorConfig.from_env({"IDP_SIM_OIDC_CLIENT_SECRET": "from-env"})
    assert "from-env" not in _banner(configured)
    assert "client secret" not in _banner(configured)


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        ("http://a/cb", {"code": "c", "state": None}, "http://a/cb?code=c"),
        ("http://a/cb?t=1", {"code": "c"}, "http://a/cb?t=1&code=c"),
        ("http://a/cb", {"state": "a b&c"}, "http://a/cb?state=a+b%26c"),
    ],
)
def test_with_query(url, params, expected):
    assert with_query(url, params) == expected


def test_pkce_s256():
    verifier, challenge = pkce_pair()
    assert pkce_verifier_matches(verifier, challenge)
    assert not pkce_verifier_matches(verifier + "x", challenge)
    assert not pkce_verifier_matches("short", challenge)
    # RFC 7636 appendix B.
    assert pkce_verifier_matches(
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    )


def test_client_authentication():
    auth = {"client_id": "c", "client_secret": "s+/="}
    assert authenticate_client(basic_header("c", "s+/="), {}, **auth) == "c"
    assert authenticate_client(basic_header("c", "s+/="), {"client_id": "c"}, **auth) == "c"
    assert authenticate_client(None, {"client_id": "c", "client_secret": "s+/="}, **auth) == "c"
    with pytest.raises(OAuthError) as refused:
        authenticate_client("Bearer abc", {}, **auth)
    assert (refused.value.status, refused.value.www_authenticate) == (401, None)
    with pytest.raises(OAuthError, match="differs"):
        authenticate_client(basic_header("c", "s+/="), {"client_id": "d"}, **auth)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer a b", "Basic abc", "bearer "])
def test_bearer_token_refusals(header):
    with pytest.raises(OAuthError) as refused:
        bearer_token(header)
    assert refused.value.status == 401


def test_bearer_scheme_is_case_insensitive():
    assert bearer_token("bearer tok.en-1") == "tok.en-1"


def test_identity_claims_extras_replace_and_remove():
    user = SimulatedUser(
        "a@example.com",
        "A",
        "B",
        extra_attributes={"name": ("Dr A",), "family_name": ("",), "sub": ("custom",)},
    )
    claims = identity_claims(user)
    assert claims["name"] == "Dr A"
    assert "family_name" not in claims
    assert claims["sub"] == "custom"
    assert subject_for(" A@Example.com ") == subject_for("a@example.com")


def test_oidc_login_form():
    choice = parse_oidc_login_form({**OIDC_DEFAULT_FORM, "email": "x+alg-none@example.com"})
    assert choice.scenario is OidcScenario.ALG_NONE
    assert choice.user.groups == ("engineering", "admins")
    assert "sign" not in OIDC_DEFAULT_FORM
    with pytest.raises(LoginFormError, match="at_hash, exp cannot be set"):
        parse_oidc_login_form({**OIDC_DEFAULT_FORM, "attributes": "exp=1\nat_hash=x"})
    with pytest.raises(LoginFormError, match="unknown scenario"):
        resolve_oidc_scenario("wrong-key", "a@example.com")


def test_pending_requests_are_generic_and_follow_their_clock():
    now = [1000.0]
    store = PendingRequests[int](ttl=60, clock=lambda: now[0])
    key = store.put(7)
    assert store.peek(key) == 7
    now[0] += 59.9
    assert store.pop(key) == 7
    assert store.pop(key) is None
    late = store.put(8)
    now[0] += 60
    assert store.peek(late) is None


def test_an_entry_behind_a_newer_one_still_expires():
    now = [1000.0]
    store = PendingRequests[str](ttl=60, clock=lambda: now[0])
    store.put("newer")
    now[0] -= 100  # an injected clock that steps back
    older = store.put("older")
    now[0] += 130
    assert store.peek(older) is None
