"""The setup assistant end to end for SAML, as an IT admin follows it: welcome, choose Okta
(SAML), the guide, the simulator's metadata, the attributes, a real test login against the
simulator, a domain verified through DNS, activation; then the metadata file and the values
by hand (a DER certificate upload)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from broker.model.portal import config_digest
from broker.store import Store
from tests.admin_portal.setup_world import (
    IDP_METADATA_URL,
    ORIGIN,
    SetupWorld,
    idp_keys,
    setup_world,
)
from tests.support.portal_forms import csrf_token, post_from


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def test_a_saml_connection_from_the_first_page_to_on(world: SetupWorld) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)

    welcome = browser.get("/portal/")
    assert "Single sign-on for Acme Corp" in welcome.text
    assert 'href="/portal/setup"' in welcome.text

    choose = browser.get("/portal/setup")
    assert choose.status_code == 200
    assert 'value="okta:saml"' in choose.text
    assert 'value="okta:oidc"' in choose.text
    assert '<span aria-current="step">Identity provider</span>' in choose.text
    begun = post_from(browser, "/portal/setup/begin", {"choice": "okta:saml"}, choose.text)
    assert begun.status_code == 303
    [connection] = world.connections(org.id)
    assert begun.headers["location"] == f"/portal/setup/{connection.id}/guide"
    assert not connection.active
    assert connection.config["strategy"] == "okta"

    guide = browser.get(f"/portal/setup/{connection.id}/guide")
    assert guide.status_code == 200
    acs = f"https://gatehouse.test/saml/{connection.id}/acs"
    entity_id = f"https://gatehouse.test/saml/{connection.id}/metadata"
    assert acs in guide.text
    assert entity_id in guide.text
    assert "Audience URI (SP Entity ID)" in guide.text
    assert 'data-copy="s3-acs_url"' in guide.text
    assert f'href="{entity_id}" download' in guide.text
    # The SP metadata is served before the IdP's values exist.
    assert browser.get(f"/saml/{connection.id}/metadata").status_code == 200

    # Come back later with the same link: the welcome page offers to continue.
    again = world.signed_in(org.id).get("/portal/")
    assert f'href="/portal/setup/{connection.id}/guide"' in again.text

    settings = browser.get(f"/portal/setup/{connection.id}/settings")
    assert "The app&#39;s <strong>Metadata URL</strong> (Sign On tab)." in settings.text
    saved = post_from(
        browser, f"/portal/setup/{connection.id}/settings",
        {"source": "url", "metadata_url": IDP_METADATA_URL}, settings.text,
    )  # fmt: skip
    # The simulator's certificate lasts for years: nothing to read, on to the attributes.
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/portal/setup/{connection.id}/attributes"
    stored = world.connection(connection.id)
    assert stored.config["idp_entity_id"] == IDP_METADATA_URL
    assert stored.config["sso_url"] == "https://idp.example.test/sso"

    attributes = browser.get(f"/portal/setup/{connection.id}/attributes")
    assert 'value="email, Email, mail"' in attributes.text  # Okta's defaults
    mapped = post_from(
        browser, f"/portal/setup/{connection.id}/attributes",
        {"names_email": "email, Email, mail", "names_given_name": "firstName",
         "names_family_name": "", "names_name": "", "names_groups": "groups, Groups",
         "required_given_name": "1"},
        attributes.text,
    )  # fmt: skip
    assert mapped.status_code == 303
    assert mapped.headers["location"] == f"/portal/setup/{connection.id}/test"
    stored = world.connection(connection.id)
    assert stored.config["attribute_mapping"] == {"given_name": ["firstName"]}
    assert stored.config["required_claims"] == ["email", "given_name"]

    activate = browser.get(f"/portal/setup/{connection.id}/activate")
    assert "disabled" in activate.text

    result_path = world.test_login(browser, connection.id)
    [test] = world.broker.management.connection_tests.latest(org.id, connection.id)
    assert result_path == f"/portal/tests/{test.id}"
    assert test.passed, test.report
    assert test.config_digest == config_digest(world.connection(connection.id).config)
    test_page = browser.get(f"/portal/setup/{connection.id}/test")
    assert "✓ Passed" in test_page.text
    assert f'href="/portal/tests/{test.id}"' in test_page.text
    assert "A test of the current settings passed" in test_page.text
    assert "Next: prove you own your email domain" in test_page.text

    domains = browser.get(f"/portal/domains?connection={connection.id}")
    added = post_from(
        browser, "/portal/domains", {"name": "acme.example", "connection": connection.id},
        domains.text,
    )  # fmt: skip
    assert added.status_code == 303
    record = world.broker.management.domains.get(org.id, "acme.example")
    world.zone.publish(
        "_gatehouse-challenge.acme.example",
        f"gatehouse-domain-verification={record.verification_token}",
    )
    listed = browser.get(added.headers["location"])
    checked = post_from(
        browser, "/portal/domains/acme.example/check", {"connection": connection.id},
        listed.text,
    )  # fmt: skip
    assert "acme.example is verified" in checked.text

    activate = browser.get(f"/portal/setup/{connection.id}/activate")
    assert "disabled" not in activate.text
    turned_on = post_from(browser, f"/portal/setup/{connection.id}/activate", {}, activate.text)
    assert turned_on.status_code == 303
    assert turned_on.headers["location"] == f"/portal/setup/{connection.id}/done"
    done = browser.get(turned_on.headers["location"])
    assert "Single sign-on is on" in done.text
    assert "acme.example" in done.text
    assert world.connection(connection.id).active

    # The assistant is done with it: its pages now lead to the maintenance overview.
    guide_again = browser.get(f"/portal/setup/{connection.id}/guide", follow_redirects=False)
    assert guide_again.status_code == 303
    assert guide_again.headers["location"] == f"/portal/connections/{connection.id}"

    welcome = browser.get("/portal/")
    assert "Single sign-on is on" in welcome.text
    assert f'Through <a href="/portal/connections/{connection.id}">Okta (SAML)</a>' in welcome.text
    assert "Already begun" not in welcome.text

    by_kind = {e.kind: e.actor for e in world.events(org.id)}
    link = f"portal_link:{world.link_ids[0]}"
    for kind in ("connection.created", "connection.updated", "domain.added",
                 "domain.verified", "connection.activated"):  # fmt: skip
        assert by_kind[kind] == link, kind


def test_the_metadata_file_and_the_values_by_hand_work_too(world: SetupWorld) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)

    by_file = world.begin(org.id, "adfs", "saml")
    page = browser.get(f"/portal/setup/{by_file.id}/settings")
    saved = browser.post(
        f"/portal/setup/{by_file.id}/settings",
        data={"csrf": csrf_token(page.text), "source": "file"},
        files={"metadata_file": ("idp.xml", world.metadata(), "application/xml")},
        headers=ORIGIN, follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/portal/setup/{by_file.id}/attributes"
    assert world.connection(by_file.id).config["idp_entity_id"] == IDP_METADATA_URL

    by_hand = world.begin(org.id, "keycloak", "saml")
    der = x509.load_pem_x509_certificate(idp_keys().certificate_pem).public_bytes(Encoding.DER)
    page = browser.get(f"/portal/setup/{by_hand.id}/settings")
    saved = browser.post(
        f"/portal/setup/{by_hand.id}/settings",
        data={"csrf": csrf_token(page.text), "source": "manual",
              "idp_entity_id": "urn:example:idp", "sso_url": "https://idp.example.test/sso"},
        files={"certificate_file": ("idp.cer", der, "application/pkix-cert")},
        headers=ORIGIN, follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/portal/setup/{by_hand.id}/attributes"
    stored = world.connection(by_hand.id).config
    assert stored["idp_entity_id"] == "urn:example:idp"
    assert stored["idp_certificates"] == [idp_keys().certificate_pem.decode()]
    # The page now says what is stored, and keeps it when the form is sent without it.
    shown = browser.get(f"/portal/setup/{by_hand.id}/settings")
    assert html.escape("urn:example:idp") in shown.text
    assert "Leave both empty to keep the stored certificate" in shown.text
    kept = browser.post(
        f"/portal/setup/{by_hand.id}/settings",
        data={"csrf": csrf_token(shown.text), "source": "manual",
              "idp_entity_id": "urn:example:idp2", "sso_url": ""},
        headers=ORIGIN, follow_redirects=False,
    )  # fmt: skip
    assert kept.status_code == 303, kept.text
    stored = world.connection(by_hand.id).config
    assert stored["idp_entity_id"] == "urn:example:idp2"
    assert stored["sso_url"] == "https://idp.example.test/sso"
    assert stored["idp_certificates"] == [idp_keys().certificate_pem.decode()]
