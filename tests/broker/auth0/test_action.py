"""The post-login Action's text: every claim, both tokens, and names that cannot break out
of their JavaScript strings."""

from __future__ import annotations

from broker.auth0.action import default_namespace, post_login_action
from broker.auth0.options import ORGANIZATION_CLAIMS


def test_the_action_sets_every_organization_claim_in_both_tokens() -> None:
    text = post_login_action(connection_name="gatehouse", namespace="https://sso.example/")
    for claim in ORGANIZATION_CLAIMS:
        assert f'"{claim}"' in text
    assert "api.idToken.setCustomClaim(namespace + claim, value)" in text
    assert "api.accessToken.setCustomClaim(namespace + claim, value)" in text
    assert 'event.connection.name !== "gatehouse"' in text
    assert "__" not in text  # every placeholder filled


def test_a_hostile_namespace_stays_inside_its_string() -> None:
    text = post_login_action(connection_name="gatehouse", namespace='x";alert(1);"*/</script>')
    assert 'const namespace = "x\\";alert(1);\\"*\\/\\u003c/script>";' in text


def test_the_default_namespace_is_the_issuer() -> None:
    assert default_namespace("https://sso.example") == "https://sso.example/"
    assert default_namespace("https://sso.example/") == "https://sso.example/"
