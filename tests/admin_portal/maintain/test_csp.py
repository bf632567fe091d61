"""The portal's CSP keeps `form-action 'self'`, and adds exactly the IdP's origin where a
form's answer hands the browser to the IdP: the test login's redirect (a browser checks
form-action on the redirect that answers a form: without it, Chromium stops the test login)
and its SAML auto-post. Nothing a config holds can add more than one origin."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from admin_portal.page_context import web_origin
from admin_portal.trial_logins import idp_urls
from tests.support.maintain_world import SSO_URL, MaintainWorld, world
from tests.support.portal_forms import submit

__all__ = ["world"]  # fixtures


def _form_action(csp: str) -> list[str]:
    found = re.search(r"form-action ([^;]+);", csp)
    assert found, csp
    return found.group(1).split()


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://idp.example.com/sso/saml", "https://idp.example.com"),
        ("https://user:pw@IdP.Example.com:8443/x?y#z", "https://idp.example.com:8443"),
        ("http://127.0.0.1:8080/sso", "http://127.0.0.1:8080"),
        ("https://[2001:db8::1]/sso", "https://[2001:db8::1]"),
        ("javascript:alert(1)", None),
        ("data:text/html,x", None),
        ("https://idp.example.com;script-src *", None),
        ("https://idp.example.com 'unsafe-inline'/", None),
        ("https://idp.example.com:99999/", None),
        ("/relative", None),
        ("", None),
    ],
)
def test_only_an_http_origin_becomes_a_csp_source(url: str, origin: str | None) -> None:
    assert web_origin(url) == origin


def test_the_overview_lets_the_test_form_reach_the_idp_and_nowhere_else(
    world: MaintainWorld,
) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    page = world.editing(org.id, connection).get(f"/portal/connections/{connection.id}")
    assert _form_action(page.headers["content-security-policy"]) == [
        "'self'",
        "https://idp.acme.test",
    ]
    # Another page keeps form-action 'self' alone.
    other = world.editing(org.id, connection).get(
        f"/portal/connections/{connection.id}/certificates"
    )
    assert _form_action(other.headers["content-security-policy"]) == ["'self'"]


def test_a_drafts_new_sso_url_is_reachable_by_its_test_too(world: MaintainWorld) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    drafted = replace(
        connection, draft={**connection.config, "sso_url": "https://new-idp.test/sso"}
    )
    assert idp_urls(drafted) == (SSO_URL, "https://new-idp.test/sso")
    oidc = replace(connection, kind="oidc", config={"issuer": "https://op.test/tenant"}, draft=None)
    assert idp_urls(oidc) == ("https://op.test/tenant",)
    manual = replace(
        oidc,
        config={
            "issuer": "https://op.test",
            "endpoints": {"authorization_endpoint": "https://login.op.test/a"},
        },
    )
    assert idp_urls(manual) == ("https://login.op.test/a",)


def test_the_saml_auto_post_of_a_test_login_may_post_to_the_idp(world: MaintainWorld) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    management = world.broker.management
    management.connections.update("management_client:mc_test", org.id, connection.id,
                                  settings={"sso_binding": "post"})  # fmt: skip
    browser = world.editing(org.id, connection)
    started = submit(browser, f"/portal/connections/{connection.id}/test")
    assert started.status_code == 200, started.text
    assert f'action="{SSO_URL}"' in started.text
    assert _form_action(started.headers["content-security-policy"]) == [
        "'self'",
        "https://idp.acme.test",
    ]
