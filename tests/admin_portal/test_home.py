"""Where a portal link lands, and what the welcome page offers an organization whose single
sign-on is already on: its live connections first, and a new setup beside them."""

from __future__ import annotations

from dataclasses import replace

from starlette.testclient import TestClient

from broker.model.opaque import new_id
from broker.model.records import Connection
from tests.support.maintain_world import MaintainWorld, world

__all__ = ["world"]  # fixtures


def landing(world: MaintainWorld, organization_id: str, **link: object) -> tuple[TestClient, str]:
    """A browser that opened a new link, and where the link's exchange sent it."""
    browser = world.browser()
    opened = world.open_link(browser, world.link(organization_id, **link))
    assert opened.status_code == 303, opened.text
    return browser, opened.headers["location"]


def another_live(world: MaintainWorld, connection: Connection) -> Connection:
    second = replace(connection, id=new_id("con"), name="Acme contractors")
    with world.store.unit_of_work() as uow:
        uow.connections.add(second)
    return second


def test_an_admin_whose_single_sign_on_is_on_lands_on_its_overview(world: MaintainWorld) -> None:
    org = world.organization()
    live = world.saml(org.id)
    browser, location = landing(world, org.id)
    assert location == f"/portal/connections/{live.id}"
    overview = browser.get(location)
    assert overview.status_code == 200
    assert '<h1 class="connection-name">idp.acme.test (SAML)</h1>' in overview.text
    # The way to the rest of the portal: the welcome page and a new setup.
    assert 'href="/portal/">All of Acme Corp\'s connections</a>' in overview.text
    assert 'href="/portal/setup">Set up another connection</a>' in overview.text


def test_the_welcome_page_leads_with_the_live_connection_and_offers_another(
    world: MaintainWorld,
) -> None:
    org = world.organization()
    live = world.saml(org.id)
    browser, _ = landing(world, org.id)
    home = browser.get("/portal/").text
    assert "Single sign-on is on" in home
    assert f'<a href="/portal/connections/{live.id}">idp.acme.test (SAML)</a>' in home
    assert ">Set up another connection</a>" in home
    # Not the first visit's seven steps and "Start" again.
    assert "The steps" not in home
    assert ">Start</a>" not in home


def test_with_several_live_connections_the_link_lands_on_their_list(world: MaintainWorld) -> None:
    org = world.organization()
    first = world.saml(org.id)
    second = another_live(world, first)
    browser, location = landing(world, org.id)
    assert location == "/portal/"
    home = browser.get(location).text
    for connection, label in ((first, "idp.acme.test (SAML)"), (second, "Acme contractors")):
        assert f'<a href="/portal/connections/{connection.id}">{label}</a>' in home


def test_without_a_live_connection_the_link_lands_on_the_welcome_page(
    world: MaintainWorld,
) -> None:
    org = world.organization()
    live = world.saml(org.id)
    world.broker.management.connections.deactivate("test", org.id, live.id)
    browser, location = landing(world, org.id)
    assert location == "/portal/"
    home = browser.get(location).text
    assert "The steps" in home
    assert ">Start</a>" in home


def test_another_organizations_live_connection_is_not_where_a_link_lands(
    world: MaintainWorld,
) -> None:
    ours, theirs = world.organization("Acme"), world.organization("Other")
    world.saml(theirs.id)
    _, location = landing(world, ours.id)
    assert location == "/portal/"


def test_a_link_without_sso_lands_on_the_welcome_page_even_when_sso_is_on(
    world: MaintainWorld,
) -> None:
    """It may not read connections: the domains are its business."""
    org = world.organization()
    world.saml(org.id)
    browser, location = landing(world, org.id, enabled_features=["domain_verification"])
    assert location == "/portal/"
    assert "/portal/connections/" not in browser.get(location).text


def test_an_edit_link_lands_on_its_own_connection(world: MaintainWorld) -> None:
    org = world.organization()
    first = world.saml(org.id)
    second = another_live(world, first)
    browser, location = landing(world, org.id, connection_id=second.id)
    assert location == f"/portal/connections/{second.id}"
    # An edit link is for its one connection: no way to the others or to a new setup.
    overview = browser.get(location).text
    assert "Set up another connection" not in overview
