"""The settings step with an identity provider on the customer's own network (docs/security.md
X-07): its certificate from the organization's private CA, served over real TLS on loopback.
The IT admin pastes the CA beside the metadata URL or the issuer; without it the page says
the certificate is not trusted."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from broker.model.records import Connection
from broker.model.vendors import STRATEGIES
from broker.store import Store
from tests.support.gatehouse import ACTOR, Gatehouse, build_gatehouse
from tests.support.portal_forms import post_from
from tests.support.private_ca import (
    CLIENT_ID,
    CLIENT_SECRET,
    OnPremisesIdp,
    PrivateCa,
    private_ca,
)

NOT_TRUSTED = "the TLS certificate of localhost is not trusted"


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[Gatehouse]:
    """The portal with the broker's real outbound client (closed after the test)."""
    built = build_gatehouse(store, tmp_path)
    yield built
    built.broker.close()


def begun(world: Gatehouse, strategy: str, protocol: str) -> tuple[TestClient, Connection]:
    org = world.organization()
    connection = world.broker.management.connection_setup.begin(
        ACTOR, org.id, strategy=strategy, protocol=protocol, offered=STRATEGIES
    )
    return world.signed_in(org.id), connection


def stored(world: Gatehouse, connection: Connection) -> dict[str, object]:
    with world.store.unit_of_work() as uow:
        return dict(uow.connections.get(connection.id).config)


def test_an_oidc_idp_on_the_customers_network(
    world: Gatehouse, company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    browser, connection = begun(world, "keycloak", "oidc")
    path = f"/portal/setup/{connection.id}/settings"
    page = browser.get(path)
    assert 'id="ca_bundle"' in page.text
    form = {"issuer": company_idp.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    refused = post_from(browser, path, form, page.text)
    assert refused.status_code == 422
    assert 'id="issuer-error"' in refused.text
    assert NOT_TRUSTED in html.unescape(refused.text)
    saved = post_from(browser, path, {**form, "ca_bundle": company_ca.pem}, refused.text)
    assert saved.status_code == 303, saved.text
    assert stored(world, connection)["ca_bundle"] == company_ca.pem
    again = browser.get(path)
    assert "Saved now: <code>CN=Example Corp Root CA</code>" in again.text
    # Left empty, the bundle stays: the discovery document is read again with it.
    kept = post_from(browser, path, form, again.text)
    assert kept.status_code == 303, kept.text
    assert stored(world, connection)["ca_bundle"] == company_ca.pem


def test_a_saml_idp_on_the_customers_network(
    world: Gatehouse, company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    browser, connection = begun(world, "adfs", "saml")
    path = f"/portal/setup/{connection.id}/settings"
    page = browser.get(path)
    form = {"source": "url", "metadata_url": company_idp.metadata_url}
    refused = post_from(browser, path, form, page.text)
    assert refused.status_code == 422
    assert 'id="metadata_url-error"' in refused.text
    assert NOT_TRUSTED in html.unescape(refused.text)
    saved = post_from(browser, path, {**form, "ca_bundle": company_ca.pem}, refused.text)
    assert saved.status_code in (200, 303), saved.text  # 200: the metadata's notes
    config = stored(world, connection)
    assert (config["idp_entity_id"], config["ca_bundle"]) == (
        company_idp.metadata_url,
        company_ca.pem,
    )


def test_a_refused_bundle_is_said_beside_its_box_and_a_key_never_shown_back(
    world: Gatehouse, company_idp: OnPremisesIdp
) -> None:
    browser, connection = begun(world, "keycloak", "oidc")
    path = f"/portal/setup/{connection.id}/settings"
    page = browser.get(path)
    form = {"issuer": company_idp.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    leaf = private_ca("idp.corp.test", ca=False).pem
    refused = post_from(browser, path, {**form, "ca_bundle": leaf}, page.text)
    assert refused.status_code == 422
    assert 'id="ca_bundle-error"' in refused.text
    assert "CN=idp.corp.test is not a certificate authority" in refused.text
    assert "-----BEGIN CERTIFICATE-----" in refused.text  # shown back to fix
    key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----"
    pasted = post_from(browser, path, {**form, "ca_bundle": key}, refused.text)
    assert pasted.status_code == 422
    assert "treat the key you pasted as compromised" in pasted.text
    assert "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49" not in pasted.text
    assert "ca_bundle" not in stored(world, connection)
