"""The setup use cases under the portal's pages: a connection begun before its IdP values
exists, publishes its SP metadata, routes nothing, and turns on only once tested."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from lxml import etree

from broker.management.connection_setup import protocols
from broker.management.connection_view import awaiting_idp
from broker.management.errors import InvalidInput, ResourceConflict
from broker.model.opaque import new_id
from broker.model.portal import ConnectionTest, config_digest
from broker.model.records import Connection
from broker.model.vendors import STRATEGIES
from tests.support.config import ISSUER
from tests.support.gatehouse import ACTOR, Gatehouse
from tests.support.portal_forms import csrf_token, post_from

NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"


def _begin(
    world: Gatehouse, org_id: str, strategy: str = "okta", protocol: str = "saml"
) -> Connection:
    return world.broker.management.connection_setup.begin(
        ACTOR, org_id, strategy=strategy, protocol=protocol, offered=STRATEGIES,
        required_claims=("email", "given_name"),
    )  # fmt: skip


def _passed_test(
    world: Gatehouse, org_id: str, connection_id: str, config: Mapping[str, object]
) -> None:
    with world.store.unit_of_work() as uow:
        uow.connection_tests.add(
            ConnectionTest(
                id=new_id("tst"), organization_id=org_id, connection_id=connection_id,
                config_digest=config_digest(config), passed=True, reason=None, report={},
                created_at=world.clock.now(),
            )
        )  # fmt: skip


def test_every_tile_offers_the_protocols_its_product_speaks() -> None:
    assert protocols("adfs") == ("saml",)
    assert protocols("generic-saml") == ("saml",)
    assert protocols("generic-oidc") == ("oidc",)
    assert protocols("okta") == ("saml", "oidc")
    assert all(protocols(s) for s in STRATEGIES)


def test_a_begun_saml_connection_publishes_sp_metadata_and_routes_nothing(
    world: Gatehouse,
) -> None:
    org = world.organization()
    connection = _begin(world, org.id)
    assert not connection.active
    assert awaiting_idp(connection)
    assert connection.config["attribute_profile"] == "okta"
    assert connection.config["required_claims"] == ["email", "given_name"]
    assert connection.name == "Okta (SAML)"

    browser = world.browser()
    metadata = browser.get(f"/saml/{connection.id}/metadata")
    assert metadata.status_code == 200
    assert metadata.headers["content-type"].startswith("application/samlmetadata+xml")
    root = etree.fromstring(metadata.content)
    assert root.get("entityID").endswith(f"/saml/{connection.id}/metadata")
    assert len(root.findall(f".//{{{NS_MD}}}KeyDescriptor")) == 2

    view = world.broker.management.connections.describe(connection)
    assert view.settings is None
    assert view.warnings == (
        "Waiting for the identity provider's values (being set up in the portal).",
    )
    with pytest.raises(ResourceConflict):
        world.broker.management.connections.activate(ACTOR, org.id, connection.id)


def test_a_begun_oidc_connection_takes_the_vendor_defaults(world: Gatehouse) -> None:
    org = world.organization()
    connection = _begin(world, org.id, "entra", "oidc")
    assert connection.kind == "oidc"
    assert connection.config["vendor"] == "entra"
    assert awaiting_idp(connection)
    assert world.browser().get(f"/oidc/{connection.id}/jwks.json").status_code == 404


def test_only_offered_strategies_and_their_protocols_begin(world: Gatehouse) -> None:
    org = world.organization()
    setup = world.broker.management.connection_setup
    with pytest.raises(InvalidInput):
        setup.begin(ACTOR, org.id, strategy="okta", protocol="saml", offered=("entra",))
    with pytest.raises(InvalidInput):
        setup.begin(ACTOR, org.id, strategy="adfs", protocol="oidc", offered=STRATEGIES)
    with world.store.unit_of_work() as uow:
        assert list(uow.connections.for_organization(org.id)) == []


def test_activation_needs_a_passed_test_of_exactly_the_settings_and_a_verified_domain(
    world: Gatehouse,
) -> None:
    org = world.organization()
    setup = world.broker.management.connection_setup
    connection = _begin(world, org.id)
    with pytest.raises(ResourceConflict, match="test a login"):
        setup.activate_tested(ACTOR, org.id, connection.id)

    # A test of other settings (before an edit) does not count.
    _passed_test(world, org.id, connection.id, {"other": "settings"})
    with pytest.raises(ResourceConflict, match="test a login"):
        setup.activate_tested(ACTOR, org.id, connection.id)

    _passed_test(world, org.id, connection.id, connection.config)
    with pytest.raises(ResourceConflict, match="verify at least one"):
        setup.activate_tested(ACTOR, org.id, connection.id)

    domains = world.broker.management.domains
    domains.add(ACTOR, org.id, "acme.example")
    domains.mark_verified(ACTOR, org.id, "acme.example")
    readiness = setup.readiness(org.id, connection)
    assert readiness.ready
    assert readiness.verified_domains == ("acme.example",)
    # The settings do not parse yet (no IdP values): activation still refuses.
    with pytest.raises(ResourceConflict, match="update its settings"):
        setup.activate_tested(ACTOR, org.id, connection.id)


def test_a_test_login_needs_the_idp_values_first(world: Gatehouse) -> None:
    org = world.organization()
    connection = _begin(world, org.id)
    browser = world.signed_in(org.id)
    page = post_from(
        browser, f"/portal/connections/{connection.id}/test", {}, browser.get("/portal/").text
    )
    assert page.status_code == 409
    assert "Give Gatehouse your identity provider" in page.text
    assert "Reference" in page.text


def test_another_organizations_connection_is_not_found(world: Gatehouse) -> None:
    """T-04: the id of organization B's connection, from a session of A."""
    mine, theirs = world.organization("Acme"), world.organization("Rival")
    other = _begin(world, theirs.id)
    browser = world.signed_in(mine.id)
    page = post_from(
        browser, f"/portal/connections/{other.id}/test", {}, browser.get("/portal/").text
    )
    assert page.status_code == 404
    assert "nothing here for your organization" in page.text
    assert "Rival" not in page.text


def test_an_edit_link_reaches_only_its_own_connection(world: Gatehouse) -> None:
    org = world.organization()
    edited, other = _begin(world, org.id), _begin(world, org.id, "entra", "oidc")
    browser = world.signed_in(org.id, connection_id=edited.id)
    assert browser.get("/portal/", follow_redirects=False).headers["location"] == (
        f"/portal/connections/{edited.id}"
    )
    # Any page with a session carries the form token (the sign-out form).
    token = csrf_token(browser.get("/portal/no-such-page-here").text)
    page = browser.post(
        f"/portal/connections/{other.id}/test",
        data={"csrf": token},
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    assert page.status_code == 404


def test_a_forged_form_is_refused(world: Gatehouse) -> None:
    """T-08: without the session's form token, or from another site, nothing starts."""
    org = world.organization()
    connection = _begin(world, org.id)
    browser = world.signed_in(org.id)
    token = csrf_token(browser.get("/portal/").text)
    path = f"/portal/connections/{connection.id}/test"
    no_token = browser.post(path, data={}, headers={"Origin": ISSUER})
    assert no_token.status_code == 403
    cross_site = browser.post(
        path, data={"csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert "This form has expired" in cross_site.text
