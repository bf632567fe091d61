"""The settings step's options form: "Tell the identity provider who is signing in" (the
SAML connection's `subject_hint`), on by default, off for an IdP that refuses an
AuthnRequest naming the person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store import Store
from broker.upstream.saml.config import SamlConnectionConfig
from tests.admin_portal.setup_world import IDP_METADATA_URL, SetupWorld, setup_world
from tests.support.portal_forms import post_from

CHECKBOX = '<input type="checkbox" id="subject_hint" name="subject_hint" value="1"'


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def test_the_subject_hint_is_on_by_default_and_can_be_turned_off_and_on(
    world: SetupWorld,
) -> None:
    org = world.organization()
    connection = world.begin(org.id, "generic-saml", "saml")
    browser = world.signed_in(org.id)
    path = f"/portal/setup/{connection.id}/settings"
    awaiting = browser.get(path).text
    assert CHECKBOX not in awaiting  # nothing to tell an IdP Gatehouse does not know yet
    post_from(browser, path, {"source": "url", "metadata_url": IDP_METADATA_URL}, awaiting)

    page = browser.get(path).text
    assert f"{CHECKBOX} checked" in page
    assert "Tell the identity provider who is signing in" in page
    assert "refuses sign-in requests that name the person" in page

    off = post_from(browser, path, {"source": "options"}, page)  # unticked: not sent
    assert off.status_code == 303, off.text
    assert SamlConnectionConfig.parse(world.connection(connection.id).config).subject_hint is False
    page = browser.get(path).text
    assert f"{CHECKBOX} checked" not in page
    assert CHECKBOX in page

    on = post_from(browser, path, {"source": "options", "subject_hint": "1"}, page)
    assert on.status_code == 303, on.text
    assert SamlConnectionConfig.parse(world.connection(connection.id).config).subject_hint is True


def test_the_options_keep_the_idps_values(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    path = f"/portal/setup/{connection.id}/settings"
    post_from(
        browser, path, {"source": "url", "metadata_url": IDP_METADATA_URL}, browser.get(path).text
    )
    before = world.connection(connection.id).config
    post_from(browser, path, {"source": "options"}, browser.get(path).text)
    after = world.connection(connection.id).config
    assert {k: v for k, v in after.items() if k != "subject_hint"} == {
        k: v for k, v in before.items() if k != "subject_hint"
    }


def test_options_before_the_idps_values_are_refused_beside_the_form(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    path = f"/portal/setup/{connection.id}/settings"
    refused = post_from(browser, path, {"source": "options"}, browser.get(path).text)
    assert refused.status_code == 422
    assert world.connection(connection.id).config == connection.config
