"""A good login through the OIDC connector, and what it sends the IdP on the way."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from broker.upstream.base import CallbackInput, UpstreamInvalid
from tests.broker.upstream.oidc.conftest import Rp, RpFactory
from tests.support.mock_op import CLIENT_ID, MockOp


def test_a_valid_answer_gives_the_identity(rp: Rp) -> None:
    identity = rp.login()
    assert identity.subject == "https://op.test#user-123"
    assert identity.email == "ann@acme.test"
    assert (identity.given_name, identity.family_name, identity.name) == (
        "Ann", "Example", "Ann Example",
    )  # fmt: skip
    assert identity.groups == ("engineering",)
    assert identity.auth_time == datetime.fromtimestamp(int(rp.clock.now().timestamp()) - 5, UTC)
    assert identity.raw_attributes["sub"] == "user-123"
    assert "nonce" not in identity.raw_attributes  # plumbing is not an attribute


def test_the_authorize_request_carries_pkce_s256_a_fresh_nonce_and_the_flow_state(
    rp: Rp,
) -> None:
    _, first = rp.begin()
    _, second = rp.begin()
    params = first.params
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == "https://gatehouse.test/oidc/con_oidc_unit/callback"
    assert params["scope"] == "openid profile email"
    assert params["state"] == "flow-1"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["nonce"]) >= 43  # 256 bits
    assert params["login_hint"] == "ann@acme.test"
    assert first.params["nonce"] != second.params["nonce"]
    assert first.params["code_challenge"] != second.params["code_challenge"]
    assert "prompt" not in params
    assert "max_age" not in params


def test_the_connector_state_keeps_the_nonce_and_verifier_only_on_the_flow(rp: Rp) -> None:
    flow, authorization = rp.begin()
    kept = json.loads(flow.connector_state)
    assert kept["nonce"] == authorization.params["nonce"]
    assert kept["verifier"] not in authorization.params.values()


def test_freshness_demands_go_upstream(rp: Rp) -> None:
    _, authorization = rp.begin(force_reauthentication=True, max_age=60)
    assert authorization.params["prompt"] == "login"
    assert authorization.params["max_age"] == "60"


def test_entra_gets_a_domain_hint_and_google_an_hd_hint(make_rp: RpFactory, op: MockOp) -> None:
    op.issuer = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
    _, authorization = make_rp(vendor="entra", issuer=op.issuer).begin(login_hint="Ann@Acme.test")
    assert authorization.params["domain_hint"] == "acme.test"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_the_client_secret_authenticates_either_way(make_rp: RpFactory, method: str) -> None:
    rp = make_rp(token_endpoint_auth_method=method)
    assert rp.login().email == "ann@acme.test"
    [token_request] = [r for r in rp.op.requests if r.url.path == "/token"]
    if method == "client_secret_basic":
        assert token_request.headers["authorization"].startswith("Basic ")
        assert b"client_secret" not in token_request.content
    else:
        assert "authorization" not in token_request.headers


def test_private_key_jwt_signs_an_assertion_with_the_published_key(
    make_rp: RpFactory, op: MockOp
) -> None:
    rp = make_rp(token_endpoint_auth_method="private_key_jwt", client_secret=None)
    published = rp.connector.describe()
    assert published is not None
    [jwk] = json.loads(published.body)["keys"]
    assert "d" not in jwk
    op.client_jwk = jwk
    assert rp.login().email == "ann@acme.test"


def test_private_key_jwt_with_an_unregistered_key_is_refused_by_the_idp(
    make_rp: RpFactory, op: MockOp
) -> None:
    rp = make_rp(token_endpoint_auth_method="private_key_jwt", client_secret=None)
    other = make_rp(token_endpoint_auth_method="private_key_jwt", client_secret=None)
    published = other.connector.describe()
    assert published is not None
    op.client_jwk = json.loads(published.body)["keys"][0]
    assert rp.reason() == "token_error"


def test_a_wrong_client_secret_is_a_token_error(make_rp: RpFactory) -> None:
    assert make_rp(client_secret="wrong").reason() == "token_error"


def test_userinfo_is_read_when_the_id_token_lacks_a_required_claim(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"email": None, "email_verified": None}
    op.userinfo = {"sub": "user-123", "email": "ann@acme.test", "email_verified": True}
    assert rp.login().email == "ann@acme.test"
    assert any(r.url.path == "/userinfo" for r in op.requests)


def test_userinfo_is_not_read_when_the_id_token_suffices(rp: Rp, op: MockOp) -> None:
    rp.login()
    assert not any(r.url.path == "/userinfo" for r in op.requests)


def test_a_flow_without_connector_state_is_refused(rp: Rp) -> None:
    flow, authorization = rp.begin()
    flow_without = type(flow)(
        **{**{n: getattr(flow, n) for n in flow.__dataclass_fields__}, "connector_state": b""}
    )
    with pytest.raises(UpstreamInvalid) as refused:
        rp.connector.complete_login(flow_without, CallbackInput(query=rp.op.answer(authorization)))
    assert refused.value.reason == "no_request"
