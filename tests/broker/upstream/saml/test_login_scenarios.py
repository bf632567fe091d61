"""Every simulator scenario, end to end in process: relying party -> Gatehouse -> simulator
-> Gatehouse ACS -> relying party, on SQLite and PostgreSQL. What each scenario must end in is
the SAML scenario table's (tests/support/saml_scenarios.toml): a refusal must show its page,
issue no code, store nothing for the user, and leave an audit event with the reason."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from broker.store.sql import SqlStore
from idp_simulator.saml.scenarios import Scenario
from tests.support.config import ISSUER
from tests.support.saml_pages import autopost, hidden_fields, login_form, pending_key
from tests.support.saml_world import ORG_ID, PostBack, SamlWorld
from tests.support.scenario_checks import Tenant, assert_describes
from tests.support.scenarios import SAML, Replay, Row, by_scenario, refused
from tests.support.simulator import IDP_BASE
from tests.support.simulator_moves import login_page, prefilled_email, saml_sign_in


def tenant(world: SamlWorld) -> Tenant:
    return Tenant(world.store, world.organization.id, world.connection.id)


def failures(world: SamlWorld) -> list[str | None]:
    return [event.reason for event in tenant(world).failures()]


def replay_expectation() -> Replay:
    replay = SAML[Scenario.REPLAY].replay
    assert replay is not None
    return replay


def test_the_table_has_a_row_for_every_simulator_scenario() -> None:
    assert list(SAML) == [scenario.value for scenario in Scenario]


def test_alice_logs_in_and_the_id_token_describes_her_and_her_organization(
    world: SamlWorld,
) -> None:
    login, back = world.login("alice@example.com")
    tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier).json()
    claims = world.gatehouse.verify_id_token(tokens["id_token"])
    assert_describes(
        claims,
        email="alice@example.com",
        organization_id=ORG_ID,
        organization_name="Example Corp",
        connection_id=world.connection.id,
        idp_type="saml",
    )
    assert claims["given_name"] == "Alice"
    assert claims["family_name"] == "Example"
    assert claims["idp_groups"] == ["engineering", "admins"]
    assert claims["sub"].startswith("usr_")
    assert claims["nonce"] == login.nonce
    with world.store.unit_of_work() as uow:
        events = uow.audit.list(organization_id=ORG_ID, kind="login.succeeded")
    assert [e.detail.get("user_id") for e in events] == [claims["sub"]]
    tenant(world).assert_signed_in(back, claims["sub"])


def test_the_same_person_gets_the_same_sub_at_every_login(world: SamlWorld) -> None:
    subs = []
    for _ in range(2):
        login, back = world.login("alice@example.com")
        tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier).json()
        subs.append(world.gatehouse.verify_id_token(tokens["id_token"])["sub"])
    assert subs[0] == subs[1]
    assert tenant(world).identities() == 1


@pytest.mark.parametrize("row", refused(SAML), ids=by_scenario)
def test_a_refused_scenario_shows_its_page_issues_no_code_and_is_audited(
    world: SamlWorld, row: Row
) -> None:
    assert row.refusal is not None
    _, to_idp = world.start("alice@example.com")
    back = world.post(world.at_idp(to_idp, email="alice@example.com", scenario=row.scenario))
    tenant(world).assert_refused(back, row.refusal)
    assert tenant(world).identities() == 0
    assert failures(world) == [row.refusal.reason]


def test_the_address_typed_on_the_email_page_picks_the_scenario_at_the_idp(
    world: SamlWorld,
) -> None:
    """No login_hint from the RP: the typed address travels in the AuthnRequest's Subject,
    the simulator's form starts with it, and submitting the form as shown runs the scenario
    its local part names."""
    row = SAML[Scenario.EXPIRED]
    assert row.refusal is not None
    _, to_idp = world.start_typed("expired@example.com")
    page = login_page(world.idp, to_idp.headers["location"])
    assert prefilled_email(page) == "expired@example.com"
    shown = saml_sign_in(
        world.idp, page, simulator_url=IDP_BASE, email=prefilled_email(page), scenario=""
    )
    tenant(world).assert_refused(world.post(shown), row.refusal)
    assert failures(world) == [row.refusal.reason]


def test_the_same_response_posted_twice_is_accepted_once(world: SamlWorld) -> None:
    _, to_idp = world.start("alice@example.com")
    assert world.code_from(world.post(world.at_idp(to_idp, scenario=Scenario.REPLAY)))
    again = world.post(world.replay())
    tenant(world).assert_refused(again, replay_expectation().same_flow)
    assert failures(world) == [replay_expectation().same_flow.reason]
    assert tenant(world).identities() == 1


def test_an_assertion_replayed_into_a_new_login_is_refused_as_a_replay(
    world: SamlWorld,
) -> None:
    """The replay cache, not the flow: a fresh flow in the same browser, and Alice's used
    response posted into it (S-35)."""
    _, to_idp = world.start("alice@example.com")
    used = world.at_idp(to_idp)
    assert world.post(used).status_code == 302
    world.start("alice@example.com")
    replayed = world.post(PostBack(used.acs_url, {**used.fields, "RelayState": _live_flow(world)}))
    assert replayed.status_code == 400
    assert failures(world) == [replay_expectation().new_flow]


def test_a_response_for_another_browser_is_refused(world: SamlWorld) -> None:
    """Login CSRF (S-33 c, S-44): the victim's browser lacks the cookie bound to the flow."""
    _, to_idp = world.start("alice@example.com")
    postback = world.at_idp(to_idp)

    with TestClient(
        world.gatehouse.client.app, base_url=str(world.gatehouse.client.base_url)
    ) as other:
        back = world.post(postback, client=other)
    assert back.status_code == 400
    assert "started in another browser" in back.text
    assert failures(world) == ["browser_mismatch"]
    assert world.post(postback).status_code == 302


def _live_flow(world: SamlWorld) -> str:
    assert isinstance(world.store, SqlStore)
    with world.store.engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT id FROM flows WHERE consumed_at IS NULL ORDER BY created_at DESC")
        ).first()
    assert row is not None
    return str(row[0])


def test_an_idp_initiated_response_is_refused_with_a_page_that_explains_it(
    world: SamlWorld,
) -> None:
    """S-34: an IdP dashboard tile posts with no RelayState and no InResponseTo."""
    _, to_idp = world.start("alice@example.com")
    postback = world.at_idp(to_idp)
    back = world.post(PostBack(postback.acs_url, {"SAMLResponse": postback.fields["SAMLResponse"]}))
    assert back.status_code == 400
    assert "Start signing in from the application" in back.text
    assert "location" not in back.headers
    assert failures(world) == ["unsolicited"]


def test_the_authn_request_can_go_by_the_post_binding(world: SamlWorld) -> None:
    with world.store.unit_of_work() as uow:
        uow.connections.save(
            replace(world.connection, config={**world.connection.config, "sso_binding": "post"}),
            expected_version=world.connection.version,
        )
    login = world.gatehouse.new_login(login_hint="alice@example.com")
    page = world.gatehouse.authorize(login)
    assert page.status_code == 200
    form = hidden_fields(page.text)
    assert form["RelayState"]
    assert "/sso" in page.text
    at_idp = world.idp.post("/sso", data=form)
    assert at_idp.status_code == 200, at_idp.text
    form = login_form(pending_key(at_idp.text), email="alice@example.com")
    posted = world.idp.post("/sso/login", data=form)
    back = world.post(autopost(posted.text))
    assert world.code_from(back)


def test_sp_metadata_is_published_per_connection(world: SamlWorld) -> None:
    response = world.gatehouse.client.get(f"/saml/{world.connection.id}/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/samlmetadata+xml")
    body = response.text
    assert f'entityID="{ISSUER}/saml/{world.connection.id}/metadata"' in body
    assert f'Location="{ISSUER}/saml/{world.connection.id}/acs"' in body
    assert 'use="signing"' in body
    assert 'use="encryption"' in body
    assert "PRIVATE" not in body
    assert world.gatehouse.client.get("/saml/con_nope/metadata").status_code == 404
