"""The setup assistant for OpenID Connect: the simulator's OP as the IdP, its discovery
document read when the settings are saved, a real test login, and the client secret that is
written once and never shown again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store import Store
from tests.admin_portal.setup_world import (
    OP_CLIENT_ID,
    OP_CLIENT_SECRET,
    OP_ISSUER,
    SetupWorld,
    setup_world,
)
from tests.support.portal_forms import post_from


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def test_an_oidc_connection_from_the_guide_to_on(world: SetupWorld) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    choose = browser.get("/portal/setup")
    begun = post_from(browser, "/portal/setup/begin", {"choice": "keycloak:oidc"}, choose.text)
    assert begun.status_code == 303
    [connection] = world.connections(org.id)
    assert connection.kind == "oidc"

    guide = browser.get(f"/portal/setup/{connection.id}/guide")
    redirect_uri = f"https://gatehouse.test/oidc/{connection.id}/callback"
    assert redirect_uri in guide.text
    assert "openid profile email" in guide.text
    assert "Valid redirect URIs" in guide.text

    settings = browser.get(f"/portal/setup/{connection.id}/settings")
    assert "No client secret is stored yet" in settings.text
    saved = post_from(
        browser, f"/portal/setup/{connection.id}/settings",
        {"issuer": OP_ISSUER, "client_id": OP_CLIENT_ID, "client_secret": OP_CLIENT_SECRET,
         "token_endpoint_auth_method": "client_secret_basic"},
        settings.text,
    )  # fmt: skip
    assert saved.status_code in (200, 303), saved.text
    stored = world.connection(connection.id).config
    assert stored["issuer"] == OP_ISSUER
    assert "client_secret_encrypted" in stored

    again = browser.get(f"/portal/setup/{connection.id}/settings")
    assert "A client secret is stored" in again.text
    assert OP_CLIENT_SECRET not in again.text
    assert stored["client_secret_encrypted"] not in again.text

    attributes = browser.get(f"/portal/setup/{connection.id}/attributes")
    assert 'value="email"' in attributes.text  # the standard claim names
    mapped = post_from(
        browser, f"/portal/setup/{connection.id}/attributes",
        {f"names_{c}": "" for c in ("email", "given_name", "family_name", "name", "groups")},
        attributes.text,
    )  # fmt: skip
    assert mapped.status_code == 303
    assert world.connection(connection.id).config["attribute_mapping"] == {}

    world.test_login(browser, connection.id)
    [test] = world.broker.management.connection_tests.latest(org.id, connection.id)
    assert test.passed, test.report

    world.verified_domain(org.id)
    activate = browser.get(f"/portal/setup/{connection.id}/activate")
    turned_on = post_from(browser, f"/portal/setup/{connection.id}/activate", {}, activate.text)
    assert turned_on.status_code == 303
    assert world.connection(connection.id).active


def test_a_refused_save_keeps_what_was_typed_but_never_the_secret(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "entra", "oidc")
    browser = world.signed_in(org.id)
    page = browser.get(f"/portal/setup/{connection.id}/settings")
    typed_secret = "a-secret-the-admin-typed-not-real"
    refused = post_from(
        browser, f"/portal/setup/{connection.id}/settings",
        {"issuer": "https://login.microsoftonline.com/common/v2.0", "client_id": "app-id",
         "client_secret": typed_secret},
        page.text,
    )  # fmt: skip
    assert refused.status_code == 422
    assert 'id="issuer-error"' in refused.text
    assert "any Microsoft account sign in" in refused.text
    assert 'value="app-id"' in refused.text
    assert typed_secret not in refused.text
    assert world.connection(connection.id).config == connection.config


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"issuer": "", "client_id": "x"}, "issuer", "The issuer is required."),
        ({"issuer": OP_ISSUER, "client_id": ""}, "client_id", "The client ID is required."),
        ({"issuer": OP_ISSUER, "client_id": OP_CLIENT_ID}, "client_secret",
         "The client secret is required."),
        ({"issuer": "https://unreachable.example/oidc", "client_id": "x", "client_secret": "y"},
         "issuer", "cannot reach"),
        ({"issuer": "not a url", "client_id": "x", "client_secret": "y"}, "issuer",
         "The issuer must be a full address starting with https://."),
    ],
)  # fmt: skip
def test_each_oidc_field_error_is_shown_beside_its_field(
    world: SetupWorld, fields: dict[str, str], field: str, message: str
) -> None:
    org = world.organization()
    connection = world.begin(org.id, "generic-oidc", "oidc")
    browser = world.signed_in(org.id)
    page = browser.get(f"/portal/setup/{connection.id}/settings")
    refused = post_from(browser, f"/portal/setup/{connection.id}/settings", fields, page.text)
    assert refused.status_code == 422, refused.text
    error = refused.text.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f'href="#{field}"' in refused.text  # the summary links to the field
    assert world.connection(connection.id).config == connection.config


def test_with_private_key_jwt_the_page_gives_the_key_to_register(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "generic-oidc", "oidc")
    browser = world.signed_in(org.id)
    page = browser.get(f"/portal/setup/{connection.id}/settings")
    saved = post_from(
        browser, f"/portal/setup/{connection.id}/settings",
        {"issuer": OP_ISSUER, "client_id": OP_CLIENT_ID,
         "token_endpoint_auth_method": "private_key_jwt"},
        page.text,
    )  # fmt: skip
    assert saved.status_code in (200, 303), saved.text
    shown = browser.get(f"/portal/setup/{connection.id}/settings")
    jwks = f"https://gatehouse.test/oidc/{connection.id}/jwks.json"
    assert f">{jwks}</code>" in shown.text
    assert '<option value="private_key_jwt" selected>' in shown.text
    assert "private_key_encrypted" not in shown.text
