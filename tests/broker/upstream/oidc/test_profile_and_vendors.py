"""Who the person is, and the vendor rules (docs/security.md R-15, R-16, R-17)."""

from __future__ import annotations

from typing import Any

import pytest

from broker.errors import ConfigError
from broker.upstream.base import UpstreamIncomplete, UpstreamInvalid, UpstreamPolicyRefusal
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.oidc.profile import build_identity
from tests.broker.upstream.oidc.conftest import Rp, RpFactory, make_config
from tests.support.mock_op import REMOVE, MockOp

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ENTRA = f"https://login.microsoftonline.com/{TENANT}/v2.0"


def config(**options: Any) -> OidcConnectionConfig:
    return OidcConnectionConfig.parse(make_config(**options))


# -- R-15 unverified emails --------------------------------------------------------------------


@pytest.mark.parametrize("verified", [False, "true", None, 1])
def test_r15_an_email_the_idp_has_not_verified_is_refused(
    rp: Rp, op: MockOp, verified: object
) -> None:
    op.claims_changes = {"email_verified": verified}
    assert rp.reason() == "email_not_verified"


def test_r15_an_email_without_email_verified_is_left_to_the_domain_policy(
    rp: Rp, op: MockOp
) -> None:
    op.claims_changes = {"email_verified": REMOVE}
    assert rp.login().email == "ann@acme.test"


def test_r17_the_subject_is_the_issuer_and_sub_never_the_email() -> None:
    claims = {"iss": "https://op.test", "sub": "abc", "email": "ann@acme.test"}
    first = build_identity(config(), claims, None)
    second = build_identity(config(), {**claims, "sub": "xyz"}, None)
    assert first.subject == "https://op.test#abc"
    assert first.subject != second.subject  # same email, different people


# -- R-16 Entra ID ----------------------------------------------------------------------------


@pytest.mark.parametrize("tenant", ["common", "organizations", "consumers", "contoso.com"])
def test_r16_a_multi_tenant_entra_issuer_is_refused_at_configuration(tenant: str) -> None:
    with pytest.raises(ConfigError) as refused:
        config(vendor="entra", issuer=f"https://login.microsoftonline.com/{tenant}/v2.0")
    assert refused.value.field == "issuer"
    assert "any Microsoft account" in refused.value.message


def entra_claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iss": ENTRA, "sub": "pairwise-sub", "tid": TENANT, "oid": "00000000-aaaa-bbbb-cccc-1",
        "preferred_username": "ann@acme.test", "name": "Ann Example",
    }  # fmt: skip
    return {**claims, **changes}


def test_r16_entra_users_are_the_tenant_and_object_id() -> None:
    identity = build_identity(config(vendor="entra", issuer=ENTRA), entra_claims(), None)
    assert identity.subject == f"{ENTRA}#00000000-aaaa-bbbb-cccc-1"
    assert identity.email == "ann@acme.test"  # from preferred_username, the UPN


def test_r16_an_entra_token_from_another_tenant_is_refused() -> None:
    with pytest.raises(UpstreamInvalid) as refused:
        build_identity(config(vendor="entra", issuer=ENTRA), entra_claims(tid="other"), None)
    assert refused.value.reason == "wrong_tenant"


def test_entra_groups_overage_is_a_flag_not_silently_no_groups() -> None:
    overage = entra_claims(_claim_names={"groups": "src1"}, _claim_sources={"src1": {}})
    identity = build_identity(config(vendor="entra", issuer=ENTRA), overage, None)
    assert identity.groups == ()
    assert identity.raw_attributes["groups_overage"] is True
    with pytest.raises(UpstreamIncomplete) as incomplete:
        build_identity(
            config(vendor="entra", issuer=ENTRA, required_claims=["email", "groups"]),
            overage,
            None,
        )
    assert "overage" in incomplete.value.looked_for


# -- R-16 Google Workspace ---------------------------------------------------------------------


def google_config() -> OidcConnectionConfig:
    return config(vendor="google", issuer="https://accounts.google.com")


def test_r16_a_consumer_google_account_is_refused() -> None:
    claims = {"iss": "https://accounts.google.com", "sub": "1", "email": "ann@gmail.com"}
    with pytest.raises(UpstreamPolicyRefusal) as refused:
        build_identity(google_config(), {**claims, "email_verified": True}, None)
    assert refused.value.reason == "consumer_account"


def test_r16_the_workspace_domain_is_handed_to_the_policy() -> None:
    claims = {"iss": "https://accounts.google.com", "sub": "1", "email": "ann@acme.test",
              "email_verified": True, "hd": "Acme.test"}  # fmt: skip
    assert build_identity(google_config(), claims, None).hosted_domain == "acme.test"


def test_a_google_connection_must_use_googles_issuer() -> None:
    with pytest.raises(ConfigError, match=r"https://accounts\.google\.com"):
        config(vendor="google", issuer="https://evil.test")


# -- mapping --------------------------------------------------------------------------------


def test_a_missing_required_claim_names_what_was_looked_for(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"email": REMOVE}
    op.discovery_changes = {"userinfo_endpoint": REMOVE}
    with pytest.raises(UpstreamIncomplete) as incomplete:
        rp.login()
    assert incomplete.value.missing == ("email",)
    assert "email: email" in incomplete.value.looked_for


def test_an_attribute_mapping_override_is_used(make_rp: RpFactory, op: MockOp) -> None:
    op.claims_changes = {"email": REMOVE, "email_verified": REMOVE, "mail": "ann@acme.test"}
    rp = make_rp(attribute_mapping={"email": ["mail"]})
    assert rp.login().email == "ann@acme.test"


def test_a_single_group_string_becomes_a_list() -> None:
    claims = {"iss": "i", "sub": "s", "groups": "admins"}
    identity = build_identity(config(required_claims=[]), claims, None)
    assert identity.groups == ("admins",)
