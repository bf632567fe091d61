"""The attributes step leads with plain words (what is needed, what the vendor's console
calls it, the name to send it under); the lists of names Gatehouse accepts, OIDs and claim
URIs among them, wait behind "Attribute names we accept"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from broker.store import Store
from tests.admin_portal.setup_world import IDP_METADATA_URL, SetupWorld, setup_world
from tests.support.portal_forms import post_from


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def attributes_page(world: SetupWorld, strategy: str) -> tuple[TestClient, str, str]:
    """(the admin's browser, the connection's id, its attributes page), the IdP's values
    given from metadata."""
    org = world.organization()
    connection = world.begin(org.id, strategy, "saml")
    browser = world.signed_in(org.id)
    settings = browser.get(f"/portal/setup/{connection.id}/settings")
    saved = post_from(
        browser, f"/portal/setup/{connection.id}/settings",
        {"source": "url", "metadata_url": IDP_METADATA_URL}, settings.text,
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    page = browser.get(f"/portal/setup/{connection.id}/attributes")
    assert page.status_code == 200
    return browser, connection.id, page.text


def fieldset(page: str, legend: str) -> str:
    match = re.search(rf"<fieldset class=\"claim\">\s*<legend>{legend} .*?</fieldset>", page, re.S)
    assert match is not None, legend
    return match.group(0)


def test_each_attribute_says_in_the_vendors_words_what_to_send(world: SetupWorld) -> None:
    _, _, page = attributes_page(world, "okta")
    email = fieldset(page, "Email address")
    assert '<span class="badge ok">Needed</span>' in email
    assert "In Okta: user.email. Sent as <code>email</code>." in email
    first = fieldset(page, "First name")
    assert '<span class="badge">Optional</span>' in first
    assert "In Okta: user.firstName. Sent as <code>firstName</code>." in first
    # Required ones first: the email leads.
    assert page.index("<legend>Email address") < page.index("<legend>First name")


def test_the_oid_and_uri_lists_wait_behind_attribute_names_we_accept(world: SetupWorld) -> None:
    _, _, page = attributes_page(world, "generic-saml")
    email = fieldset(page, "Email address")
    disclosure = email.index('<details class="names">')
    assert "<summary>Attribute names we accept" in email[disclosure:]
    assert "urn:oid:0.9.2342.19200300.100.1.3" in email[disclosure:]  # LDAP's mail
    assert "urn:oid:" not in email[:disclosure]
    assert "http://schemas.xmlsoap.org" not in email[:disclosure]
    # The field is still in the form: a closed <details> does not stop it being sent.
    assert 'name="names_email" value="email, mail, emailAddress, Email,' in email


def test_a_refused_name_opens_its_list_again(world: SetupWorld) -> None:
    browser, connection_id, page = attributes_page(world, "okta")
    refused = post_from(
        browser, f"/portal/setup/{connection_id}/attributes", {"names_email": "x" * 300}, page
    )
    assert refused.status_code == 422
    assert '<details class="names" open>' in fieldset(refused.text, "Email address")
