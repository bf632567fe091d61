"""The connection options Gatehouse sends: its own fields set, everyone else's kept."""

from __future__ import annotations

from broker.auth0.options import (
    ORGANIZATION_CLAIMS,
    GatehouseSide,
    connection_options,
    discovery_url,
    with_aliases,
)

SIDE = GatehouseSide(issuer="https://sso.example/", client_id="gh_auth0")


def test_discovery_url_is_under_the_issuer() -> None:
    assert (
        discovery_url("https://sso.example/")
        == "https://sso.example/.well-known/openid-configuration"
    )
    assert (
        discovery_url("https://sso.example/t/1")
        == "https://sso.example/t/1/.well-known/openid-configuration"
    )


def test_the_options_gatehouse_owns() -> None:
    options = connection_options(SIDE, ["acme.example"])
    assert options["type"] == "back_channel"  # Front Channel cannot work: codes only
    assert options["token_endpoint_auth_method"] == "client_secret_post"
    assert options["upstream_params"] == {"login_hint": {"alias": "login_hint"}}
    assert options["domain_aliases"] == ["acme.example"]
    assert "client_secret" not in options  # an existing secret stays as Auth0 has it
    attributes = options["attribute_map"]["attributes"]
    assert set(ORGANIZATION_CLAIMS) <= set(attributes)
    assert "raw_attributes" not in attributes


def test_a_new_secret_is_sent() -> None:
    side = GatehouseSide(issuer=SIDE.issuer, client_id="gh_new", client_secret="s" * 43)
    assert connection_options(side, [])["client_secret"] == "s" * 43


def test_everything_else_auth0_returned_is_carried_over() -> None:
    current = {
        "client_secret": "kept",
        "icon_url": "https://app.example/icon.png",
        "upstream_params": {"prompt": {"value": "login"}, "login_hint": {"value": "x"}},
        "type": "front_channel",
    }
    options = connection_options(SIDE, [], current)
    assert options["client_secret"] == "kept"
    assert options["icon_url"] == "https://app.example/icon.png"
    assert options["upstream_params"] == {
        "prompt": {"value": "login"},
        "login_hint": {"alias": "login_hint"},
    }
    assert options["type"] == "back_channel"


def test_with_aliases_changes_only_the_aliases() -> None:
    current = {"client_id": "gh", "domain_aliases": ["old.example"], "scope": "openid"}
    assert with_aliases(current, ["new.example"]) == {
        "client_id": "gh", "domain_aliases": ["new.example"], "scope": "openid",
    }  # fmt: skip
