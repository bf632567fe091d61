"""Every OIDC simulator scenario, end to end in process: relying party -> Gatehouse ->
the simulator's OP -> Gatehouse's redirect URI (code redeemed over the back channel) ->
relying party, on SQLite and PostgreSQL. What each scenario must end in is the OIDC scenario
table's (tests/support/oidc_scenarios.toml): a refusal must show its page, issue no code, store
nothing for the user, and leave an audit event with the reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from broker.store.sql import SqlStore
from idp_simulator.oidc.scenarios import OidcScenario
from tests.support.config import ISSUER
from tests.support.oidc_world import CONNECTION_ID, EMAIL, OP_ISSUER, ORG_ID, OidcWorld
from tests.support.scenario_checks import Tenant, assert_describes
from tests.support.scenarios import OIDC, Row, by_scenario, refused
from tests.support.simulator import IDP_BASE
from tests.support.simulator_moves import login_page, oidc_sign_in, prefilled_email


def tenant(world: OidcWorld) -> Tenant:
    return Tenant(world.store, world.organization.id, world.connection.id)


def failures(world: OidcWorld) -> list[str | None]:
    return [event.reason for event in tenant(world).failures()]


def test_the_table_has_a_row_for_every_simulator_scenario() -> None:
    assert list(OIDC) == [scenario.value for scenario in OidcScenario]


def test_alice_logs_in_through_the_simulators_op(world: OidcWorld) -> None:
    login, back = world.login()
    tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier).json()
    claims = world.gatehouse.verify_id_token(tokens["id_token"])
    assert_describes(
        claims,
        email=EMAIL,
        organization_id=ORG_ID,
        organization_name="Example Labs",
        connection_id=CONNECTION_ID,
        idp_type="oidc",
    )
    assert claims["given_name"] == "Alice"
    assert claims["idp_groups"] == ["engineering", "admins"]
    assert claims["sub"].startswith("usr_")
    assert claims["nonce"] == login.nonce
    assert claims["raw_attributes"]["sub"].startswith("sim-")
    assert isinstance(world.store, SqlStore)
    with world.store.engine.connect() as connection:
        subject = connection.execute(sa.text("SELECT idp_subject FROM identities")).scalar_one()
    assert subject == f"{OP_ISSUER}#{claims['raw_attributes']['sub']}"  # (iss, sub), not email
    with world.store.unit_of_work() as uow:
        events = uow.audit.list(organization_id=ORG_ID, kind="login.succeeded")
    assert [e.detail.get("user_id") for e in events] == [claims["sub"]]
    tenant(world).assert_signed_in(back, claims["sub"])


def test_the_same_person_gets_the_same_sub_at_every_login(world: OidcWorld) -> None:
    subs = []
    for _ in range(2):
        login, back = world.login()
        tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier).json()
        subs.append(world.gatehouse.verify_id_token(tokens["id_token"])["sub"])
    assert subs[0] == subs[1]
    assert tenant(world).identities() == 1


@pytest.mark.parametrize("row", refused(OIDC), ids=by_scenario)
def test_a_refused_scenario_shows_its_page_issues_no_code_and_is_audited(
    world: OidcWorld, row: Row
) -> None:
    """The IdP's own words (the access-denied error_description) are never on the page."""
    assert row.refusal is not None
    _, to_idp = world.start()
    back = world.back(world.at_idp(to_idp, scenario=row.scenario))
    tenant(world).assert_refused(back, row.refusal)
    assert tenant(world).identities() == 0
    assert failures(world) == [row.refusal.reason]


def test_the_address_typed_on_the_email_page_picks_the_scenario_at_the_op(
    world: OidcWorld,
) -> None:
    """No login_hint from the RP: the typed address goes upstream as `login_hint`, the
    simulator's form starts with it, and submitting the form as shown runs the scenario its
    local part names."""
    row = OIDC[OidcScenario.EXPIRED]
    assert row.refusal is not None
    _, to_idp = world.start_typed("expired@example.org")
    page = login_page(world.idp, to_idp.headers["location"])
    assert prefilled_email(page) == "expired@example.org"
    shown = oidc_sign_in(
        world.idp, page, simulator_url=IDP_BASE, email=prefilled_email(page), scenario=""
    )
    tenant(world).assert_refused(world.back(shown), row.refusal)
    assert failures(world) == [row.refusal.reason]


def test_an_email_outside_the_verified_domains_is_refused(world: OidcWorld) -> None:
    """nOAuth: the IdP vouches for the address, but only the organization's verified
    domains may log in through its connection."""
    _, to_idp = world.start()
    back = world.back(world.at_idp(to_idp, email="ceo@victim.test"))
    assert back.status_code == 403
    assert "cannot be used here" in back.text
    assert failures(world) == ["email_domain_not_verified"]


def test_the_callback_replayed_is_refused(world: OidcWorld) -> None:
    replay = OIDC[OidcScenario.REPLAY].replay
    assert replay is not None
    _, to_idp = world.start()
    assert world.code_from(world.back(world.at_idp(to_idp, scenario=OidcScenario.REPLAY)))
    again = world.back(world.replay())
    tenant(world).assert_refused(again, replay.same_flow)
    assert failures(world) == [replay.same_flow.reason]
    assert tenant(world).identities() == 1


def test_a_state_is_single_use_even_after_a_failure(world: OidcWorld) -> None:
    """R-01: the first answer for a hand-off spends it; a second one, even genuine, is
    refused. The first refusal was told to the client, which ended the flow."""
    _, to_idp = world.start()
    callback = world.at_idp(to_idp)
    forged = callback.replace("code=", "code=forged")
    assert world.back(forged).status_code == 400
    again = world.back(callback)
    assert again.status_code == 400
    assert "This sign-in has expired" in again.text
    assert "location" not in again.headers
    assert sorted(str(reason) for reason in failures(world)) == ["flow_expired", "token_error"]


@pytest.mark.parametrize("state", ["", "forged", "https://evil.test/"])
def test_r01_an_unknown_state_is_refused(world: OidcWorld, state: str) -> None:
    _, to_idp = world.start()
    callback = world.at_idp(to_idp)
    head, _, tail = callback.partition("state=")
    tail = tail.split("&", 1)[1] if "&" in tail else ""
    back = world.back(f"{head}state={state}&{tail}")
    assert back.status_code == 400
    assert "expired" in back.text
    assert "location" not in back.headers


def test_r01_the_answer_in_another_browser_is_refused(world: OidcWorld) -> None:
    _, to_idp = world.start()
    callback = world.at_idp(to_idp)
    with TestClient(world.gatehouse.client.app, base_url=ISSUER) as other_browser:
        back = world.back(callback, client=other_browser)
    assert back.status_code == 400
    assert "another browser" in back.text
    assert failures(world) == ["browser_mismatch"]
    assert world.back(callback).status_code == 302  # the right browser still finishes


def test_r04_an_answer_for_another_connection_is_refused(world: OidcWorld) -> None:
    _, to_idp = world.start()
    callback = world.at_idp(to_idp).replace(f"/oidc/{CONNECTION_ID}/", "/oidc/con_other/")
    back = world.gatehouse.client.get(callback.removeprefix(ISSUER))
    assert back.status_code == 404


def test_r04_an_answer_claiming_another_issuer_is_refused(world: OidcWorld) -> None:
    _, to_idp = world.start()
    callback = world.at_idp(to_idp).replace(
        "iss=" + OP_ISSUER.replace(":", "%3A").replace("/", "%2F"), "iss=https%3A%2F%2Fevil.test"
    )
    back = world.back(callback)
    assert back.status_code == 400
    assert failures(world) == ["wrong_issuer_parameter"]
