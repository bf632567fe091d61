"""Vendor attribute names map to our claims; multi-valued attributes stay lists."""

from __future__ import annotations

import pytest

from broker.upstream.saml.attributes import map_attributes

XMLSOAP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"


@pytest.mark.parametrize(
    ("profile", "attributes"),
    [
        ("okta", {"email": ["ann@acme.test"], "firstName": ["Ann"], "lastName": ["Lee"],
                  "groups": ["eng", "ops"]}),
        ("entra", {f"{XMLSOAP}/emailaddress": ["ann@acme.test"], f"{XMLSOAP}/givenname": ["Ann"],
                   f"{XMLSOAP}/surname": ["Lee"],
                   "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups":
                       ["eng", "ops"]}),
        ("adfs", {f"{XMLSOAP}/emailaddress": ["ann@acme.test"], f"{XMLSOAP}/givenname": ["Ann"],
                  f"{XMLSOAP}/surname": ["Lee"],
                  "http://schemas.xmlsoap.org/claims/Group": ["eng", "ops"]}),
        ("google", {"email": ["ann@acme.test"], "first_name": ["Ann"], "last_name": ["Lee"],
                    "groups": ["eng", "ops"]}),
        ("generic", {"urn:oid:0.9.2342.19200300.100.1.3": ["ann@acme.test"],
                     "urn:oid:2.5.4.42": ["Ann"], "urn:oid:2.5.4.4": ["Lee"],
                     "memberOf": ["eng", "ops"]}),
    ],
)  # fmt: skip
def test_each_vendor_profile_finds_the_standard_claims(
    profile: str, attributes: dict[str, list[str]]
) -> None:
    mapped = map_attributes(attributes, profile=profile, overrides={})
    assert mapped.email == "ann@acme.test"
    assert mapped.given_name == "Ann"
    assert mapped.family_name == "Lee"
    assert mapped.groups == ("eng", "ops")
    assert mapped.raw == attributes


def test_a_connection_override_wins_over_the_profile() -> None:
    mapped = map_attributes(
        {"mail": ["wrong@acme.test"], "primaryEmail": ["ann@acme.test"]},
        profile="generic",
        overrides={"email": ("primaryEmail",)},
    )
    assert mapped.email == "ann@acme.test"


def test_groups_from_several_attributes_are_merged_without_duplicates() -> None:
    mapped = map_attributes(
        {"groups": ["eng", "ops"], "memberOf": ["ops", "sec"]}, profile="generic", overrides={}
    )
    assert mapped.groups == ("eng", "ops", "sec")


def test_entra_email_never_falls_back_to_the_upn() -> None:
    """The UPN is not a mailbox the user proved; nOAuth-style confusion starts there."""
    mapped = map_attributes({f"{XMLSOAP}/name": ["ann@acme.test"]}, profile="entra", overrides={})
    assert mapped.email is None


def test_repeated_attributes_are_merged_and_an_ambiguous_email_is_visible() -> None:
    """Keycloak sends one <Attribute Name="Role"> per role; python3-saml merges them. Two
    distinct emails are a different matter: the connector refuses them (S-37)."""
    mapped = map_attributes(
        {"Role": ["a", "b"], "email": ["ann@acme.test", "eve@evil.test"]},
        profile="generic",
        overrides={"groups": ("Role",)},
    )
    assert mapped.groups == ("a", "b")
    assert mapped.email_values == ("ann@acme.test", "eve@evil.test")
