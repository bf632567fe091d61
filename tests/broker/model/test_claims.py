"""The claims Gatehouse asserts about a person (broker/model/claims.py), as plain functions.

tests/broker/oidc/test_claims.py holds the same rules to a whole login; here each rule is a
row: `email_verified` only for a domain the organization verified, the profile and email
claims only for their scopes, `sub` our id and never the IdP's, organization claims always.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker.model.claims import (
    EMAIL_CLAIMS,
    ORGANIZATION_CLAIMS,
    PROFILE_CLAIMS,
    build_claims,
    is_email_verified,
)
from broker.model.records import Connection, Identity, Organization, UpstreamIdentity

NOW = datetime(2026, 1, 1, tzinfo=UTC)
VERIFIED = ("acme.test", "xn--bcher-kva.example")
ORGANIZATION = Organization(id="org_acme", name="Acme Corp", created_at=NOW)
CONNECTION = Connection(
    id="con_acme", organization_id="org_acme", kind="saml", name="Acme IdP", config={},
    created_at=NOW,
)  # fmt: skip
IDENTITY = Identity(
    id="usr_x1", organization_id="org_acme", connection_id="con_acme", idp_subject="idp-ann",
    email="ann@acme.test", created_at=NOW, last_login_at=NOW,
)  # fmt: skip
ANN = UpstreamIdentity(
    subject="idp-ann", email="ann@acme.test", given_name="Ann", family_name="Lee",
    name="Ann Lee", groups=("eng", "admins"), raw_attributes={"department": ["R&D"]},
)  # fmt: skip
RESERVED_BY_AUTH0 = {"org_id", "groups", "roles", "amr", "sid", "permissions"}


@pytest.mark.parametrize(
    ("email", "verified"),
    [
        ("ann@acme.test", True),
        ("ann@ACME.Test", True),
        ("ann@acme.test.", True),  # an absolute name is the same domain
        ("ann@bücher.example", True),  # compared as A-labels
        ("ann@xn--bcher-kva.example", True),
        ("ann@evil.test", False),
        ("ann@sub.acme.test", False),  # a subdomain is another domain
        ("ann@acme.test.evil.test", False),
        ("ann@acme-test", False),
        ("ann@bucher.example", False),
        (None, False),
        ("", False),
        ("ann", False),
        ("ann@", False),
        # Addresses that are not plain: readers disagree about their domain.
        ('"ann@acme.test"@evil.test', False),
        ("ann@evil.test@acme.test", False),
        ("ann@acme.test (comment)", False),
        ("Ann <ann@acme.test>", False),
        ("ann@acme\u200b.test", False),
    ],
)
def test_email_is_verified_only_in_a_verified_domain(email: str | None, verified: bool) -> None:
    assert is_email_verified(email, VERIFIED) is verified


def test_no_verified_domain_verifies_nothing() -> None:
    assert is_email_verified("ann@acme.test", []) is False


def test_verified_domains_may_be_any_iterable_read_once() -> None:
    assert is_email_verified("ann@acme.test", iter(VERIFIED)) is True


def claims(
    upstream: UpstreamIdentity = ANN,
    scope: tuple[str, ...] = ("openid", "profile", "email"),
    verified: tuple[str, ...] = VERIFIED,
) -> dict[str, object]:
    return build_claims(
        identity=IDENTITY, upstream=upstream, organization=ORGANIZATION, connection=CONNECTION,
        verified_domains=verified, scope=scope,
    )  # fmt: skip


def test_every_claim_for_the_full_scope() -> None:
    assert claims() == {
        "sub": "usr_x1",
        "email": "ann@acme.test",
        "email_verified": True,
        "name": "Ann Lee",
        "given_name": "Ann",
        "family_name": "Lee",
        "organization_id": "org_acme",
        "organization_name": "Acme Corp",
        "connection_id": "con_acme",
        "idp_type": "saml",
        "idp_groups": ["eng", "admins"],
        "raw_attributes": {"department": ["R&D"]},
    }


@pytest.mark.parametrize(
    ("scope", "present"),
    [
        (("openid",), set()),
        (("openid", "email"), set(EMAIL_CLAIMS)),
        (("openid", "profile"), set(PROFILE_CLAIMS)),
        (("openid", "profile", "email"), {*EMAIL_CLAIMS, *PROFILE_CLAIMS}),
        # Scopes we do not support select nothing.
        (("openid", "phone", "address"), set()),
    ],
)
def test_the_scope_selects_the_standard_claims(scope: tuple[str, ...], present: set[str]) -> None:
    assert set(claims(scope=scope)) == {"sub", *ORGANIZATION_CLAIMS, *present}


def test_an_email_outside_the_verified_domains_is_asserted_unverified() -> None:
    outsider = UpstreamIdentity(subject="idp-ann", email="ann@evil.test")
    assert claims(outsider)["email_verified"] is False
    assert claims(verified=())["email_verified"] is False


@pytest.mark.parametrize("email", [None, ""])
def test_without_an_email_neither_email_claim_is_sent(email: str | None) -> None:
    """No `email_verified` either: `false` beside no address would still say something."""
    assert not set(EMAIL_CLAIMS) & set(claims(UpstreamIdentity(subject="s", email=email)))


def test_the_idps_own_email_verified_is_not_what_we_assert() -> None:
    """nOAuth: an IdP saying `email_verified: true` for any address must not make it so."""
    upstream = UpstreamIdentity(
        subject="s", email="ann@evil.test", raw_attributes={"email_verified": True}
    )
    built = claims(upstream)
    assert built["email_verified"] is False
    assert built["raw_attributes"] == {"email_verified": True}


@pytest.mark.parametrize(
    ("given", "family", "name", "sent"),
    [
        ("Ann", None, None, {"given_name": "Ann"}),
        (None, "Lee", "", {"family_name": "Lee"}),
        ("", "", "", {}),
        (None, None, "Ann Lee", {"name": "Ann Lee"}),
    ],
)
def test_only_the_profile_claims_the_idp_filled_are_sent(
    given: str | None, family: str | None, name: str | None, sent: dict[str, str]
) -> None:
    upstream = UpstreamIdentity(subject="s", given_name=given, family_name=family, name=name)
    built = claims(upstream, scope=("openid", "profile"))
    assert {k: v for k, v in built.items() if k in PROFILE_CLAIMS} == sent


def test_sub_is_our_identity_never_the_idps_subject_or_email() -> None:
    built = claims()
    assert built["sub"] == IDENTITY.id
    assert built["sub"] not in (ANN.subject, ANN.email)


def test_organization_claims_are_always_present_and_not_auth0_reserved() -> None:
    built = claims(UpstreamIdentity(subject="s"), scope=("openid",))
    assert built == {
        "sub": "usr_x1",
        "organization_id": "org_acme",
        "organization_name": "Acme Corp",
        "connection_id": "con_acme",
        "idp_type": "saml",
        "idp_groups": [],
        "raw_attributes": {},
    }
    assert not RESERVED_BY_AUTH0 & set(claims())


def test_the_claims_are_copies_not_views_of_the_identity() -> None:
    """The claims are stored as JSON on the code; they must be plain lists and dicts."""
    raw = {"department": ["R&D"]}
    built = claims(UpstreamIdentity(subject="s", groups=("eng",), raw_attributes=raw))
    assert isinstance(built["idp_groups"], list)
    assert built["raw_attributes"] == raw
    assert built["raw_attributes"] is not raw
