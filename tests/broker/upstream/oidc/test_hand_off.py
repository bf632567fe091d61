"""Handing a flow to the OIDC IdP: what happens when the IdP cannot be used, and why a flow
cannot be re-routed from another browser."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
from starlette.testclient import TestClient

from broker.upstream.oidc.config import OidcConnectionConfig
from tests.support.config import ISSUER, RP_CALLBACK
from tests.support.oidc_world import EMAIL, ORG_ID, OidcWorld
from tests.support.scenario_checks import back_to_client


def failures(world: OidcWorld) -> list[str | None]:
    with world.store.unit_of_work() as uow:
        return [e.reason for e in uow.audit.list(organization_id=ORG_ID, kind="login.failed")]


def told(page: httpx.Response) -> tuple[str, str]:
    """The error and reason code the page's button takes back to the relying party."""
    back = back_to_client(page.text)
    assert back is not None, page.text
    assert back.startswith(RP_CALLBACK)
    params = dict(parse_qsl(urlsplit(back).query))
    reference = page.headers["x-request-id"]
    code, _, rest = params["error_description"].partition(" ")
    assert rest == f"(reference {reference})"
    return params["error"], code


def test_an_unreachable_idp_gets_a_page_and_an_audit_event(world: OidcWorld) -> None:
    config = OidcConnectionConfig.parse(world.connection.config).to_json()
    broken = {**config, "issuer": "https://idp.example.test/gone"}
    with world.store.unit_of_work() as uow:
        uow.connections.save(
            replace(world.connection, config=broken), expected_version=world.connection.version
        )
    response = world.gatehouse.authorize(world.gatehouse.new_login(login_hint=EMAIL))
    assert response.status_code == 502
    assert "cannot be reached" in response.text
    assert response.headers["x-request-id"] in response.text
    assert failures(world) == ["discovery_unavailable"]
    assert told(response) == ("temporarily_unavailable", "idp_unavailable")


def test_a_discovery_document_for_another_issuer_is_a_configuration_problem(
    world: OidcWorld,
) -> None:
    config = OidcConnectionConfig.parse(world.connection.config).to_json()
    # The simulator's document at .../oidc names ".../oidc", not ".../oidc/".
    broken = {**config, "issuer": "https://idp.example.test/oidc/"}
    with world.store.unit_of_work() as uow:
        uow.connections.save(
            replace(world.connection, config=broken), expected_version=world.connection.version
        )
    response = world.gatehouse.authorize(world.gatehouse.new_login(login_hint=EMAIL))
    assert response.status_code == 502
    assert "not set up correctly" in response.text
    assert failures(world) == ["discovery_issuer_mismatch"]
    assert told(response) == ("server_error", "idp_misconfigured")


def test_a_flow_handed_off_in_one_browser_cannot_be_rerouted_from_another(
    world: OidcWorld,
) -> None:
    """The flow id travels to the IdP as `state`; whoever reads it there (logs, a Referer)
    must not be able to bind the flow to their own browser and finish it."""
    _, to_idp = world.start()
    flow_id = parse_qs(urlsplit(to_idp.headers["location"]).query)["state"][0]
    with TestClient(world.gatehouse.client.app, base_url=ISSUER) as other_browser:
        response = other_browser.post("/login", data={"flow": flow_id, "email": EMAIL})
    assert response.status_code == 403
    assert "This sign-in form has expired" in response.text
    assert failures(world) == ["form_refused"]
    back = world.back(world.at_idp(to_idp))  # the first browser still finishes
    assert back.status_code == 302
