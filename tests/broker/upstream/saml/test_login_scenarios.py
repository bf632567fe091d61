"""Every simulator scenario, end to end in process: relying party -> Gatehouse -> simulator
-> Gatehouse ACS -> relying party. A failure must show the right page, issue no code, store
nothing for the user, and leave an audit event with the reason."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from broker.store.sql import SqlStore
from tests.support.config import ISSUER
from tests.support.saml_pages import autopost, hidden_fields, login_form, pending_key
from tests.support.saml_world import ORG_ID, PostBack, SamlWorld

VERIFY = "We could not verify your sign-in"


def identities(world: SamlWorld) -> int:
    assert isinstance(world.store, SqlStore)
    with world.store.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM identities")).scalar_one())


def failures(world: SamlWorld) -> list[tuple[str | None, dict[str, object]]]:
    with world.store.unit_of_work() as uow:
        events = uow.audit.list(organization_id=ORG_ID, kind="login.failed")
    return [(e.reason, dict(e.detail)) for e in events]


def test_alice_logs_in_and_the_id_token_describes_her_and_her_organization(
    world: SamlWorld,
) -> None:
    login, back = world.login("alice@example.com")
    tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier).json()
    claims = world.gatehouse.verify_id_token(tokens["id_token"])
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["given_name"] == "Alice"
    assert claims["family_name"] == "Example"
    assert claims["organization_id"] == ORG_ID
    assert claims["organization_name"] == "Example Corp"
    assert claims["connection_id"] == world.connection.id
    assert claims["idp_type"] == "saml"
    assert claims["idp_groups"] == ["engineering", "admins"]
    assert claims["sub"].startswith("usr_")
    assert claims["nonce"] == login.nonce
    with world.store.unit_of_work() as uow:
        events = uow.audit.list(organization_id=ORG_ID, kind="login.succeeded")
    assert [e.detail.get("user_id") for e in events] == [claims["sub"]]


def test_the_same_person_gets_the_same_sub_at_every_login(world: SamlWorld) -> None:
    subs = []
    for _ in range(2):
        login, back = world.login("alice@example.com")
        tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier).json()
        subs.append(world.gatehouse.verify_id_token(tokens["id_token"])["sub"])
    assert subs[0] == subs[1]
    assert identities(world) == 1


@pytest.mark.parametrize(
    ("scenario", "reason", "page", "status"),
    [
        ("expired", "expired", VERIFY, 400),
        ("not-yet-valid", "not_yet_valid", VERIFY, 400),
        ("wrong-audience", "wrong_audience", VERIFY, 400),
        ("wrong-destination", "wrong_destination", VERIFY, 400),
        ("wrong-issuer", "wrong_issuer", VERIFY, 400),
        ("unsigned", "unsigned", VERIFY, 400),
        ("wrong-key", "signature_invalid", VERIFY, 400),
        ("in-response-to-mismatch", "in_response_to_mismatch", VERIFY, 400),
        ("signature-wrapping", "wrong_number_of_assertions", VERIFY, 400),
        ("sha1-signature", "weak_algorithm", VERIFY, 400),
        ("status-responder", "idp_refused:Responder", "did not sign you in", 403),
        ("status-authn-failed", "idp_refused:Responder / AuthnFailed", "AuthnFailed", 403),
        ("missing-email", "missing_attributes", "Missing: email", 403),
        ("nameid-comment", "email_domain_not_verified", "cannot be used here", 403),
    ],
)
def test_a_failing_scenario_shows_its_page_issues_no_code_and_is_audited(
    world: SamlWorld, scenario: str, reason: str, page: str, status: int
) -> None:
    _, to_idp = world.start("alice@example.com")
    back = world.post(world.at_idp(to_idp, email="alice@example.com", scenario=scenario))
    assert back.status_code == status, back.text
    assert "location" not in back.headers
    assert page in back.text
    assert back.headers["x-request-id"] in back.text
    assert "Traceback" not in back.text
    assert identities(world) == 0
    assert [r for r, _ in failures(world)] == [reason]


def test_nameid_comment_injection_is_read_in_full_never_truncated(world: SamlWorld) -> None:
    """S-14: `alice@example.com<!---->.evil.test` is the identity, whole; the domain rule
    then refuses it. A parser that dropped the text after the comment would log Alice in."""
    _, to_idp = world.start("alice@example.com")
    world.post(world.at_idp(to_idp, email="alice@example.com", scenario="nameid-comment"))
    [(reason, detail)] = failures(world)
    assert reason == "email_domain_not_verified"
    assert "example.com.evil.test" in str(detail["detail"])


def test_the_same_response_posted_twice_is_accepted_once(world: SamlWorld) -> None:
    _, to_idp = world.start("alice@example.com")
    first = world.post(world.at_idp(to_idp, scenario="replay"))
    assert first.status_code == 302
    again = world.post(world.replay())
    assert again.status_code == 400
    assert "location" not in again.headers
    assert "This sign-in has expired" in again.text
    assert [r for r, _ in failures(world)] == ["flow_expired"]


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
    assert [r for r, _ in failures(world)] == ["replayed"]


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
    assert [r for r, _ in failures(world)] == ["browser_mismatch"]
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
    assert [r for r, _ in failures(world)] == ["unsolicited"]


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
