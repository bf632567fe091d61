"""Every OIDC simulator scenario, end to end in process: relying party -> Gatehouse ->
the simulator's OP -> Gatehouse's redirect URI (code redeemed over the back channel) ->
relying party. A failure must show the right page, issue no code, store nothing for the
user, and leave an audit event with the reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from broker.store.sql import SqlStore
from tests.support.config import ISSUER
from tests.support.oidc_world import CONNECTION_ID, EMAIL, OP_ISSUER, ORG_ID, OidcWorld

VERIFY = "We could not verify your sign-in"


def identities(world: OidcWorld) -> int:
    assert isinstance(world.store, SqlStore)
    with world.store.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM identities")).scalar_one())


def failures(world: OidcWorld) -> list[str | None]:
    with world.store.unit_of_work() as uow:
        return [e.reason for e in uow.audit.list(organization_id=ORG_ID, kind="login.failed")]


def test_alice_logs_in_through_the_simulators_op(world: OidcWorld) -> None:
    login, back = world.login()
    tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier).json()
    claims = world.gatehouse.verify_id_token(tokens["id_token"])
    assert claims["email"] == EMAIL
    assert claims["email_verified"] is True
    assert claims["given_name"] == "Alice"
    assert claims["organization_id"] == ORG_ID
    assert claims["organization_name"] == "Example Labs"
    assert claims["connection_id"] == CONNECTION_ID
    assert claims["idp_type"] == "oidc"
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


def test_the_same_person_gets_the_same_sub_at_every_login(world: OidcWorld) -> None:
    subs = []
    for _ in range(2):
        login, back = world.login()
        tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier).json()
        subs.append(world.gatehouse.verify_id_token(tokens["id_token"])["sub"])
    assert subs[0] == subs[1]
    assert identities(world) == 1


@pytest.mark.parametrize(
    ("scenario", "reason", "page", "status"),
    [
        ("wrong-issuer", "wrong_issuer", VERIFY, 400),
        ("wrong-audience", "wrong_audience", VERIFY, 400),
        ("expired", "expired", VERIFY, 400),
        ("nonce-mismatch", "nonce_mismatch", VERIFY, 400),
        ("unknown-key", "unknown_key", VERIFY, 400),
        ("alg-none", "algorithm_not_allowed", VERIFY, 400),
        ("missing-email", "missing_attributes", "Missing: email", 403),
        ("email-unverified", "email_not_verified", "not verified", 403),
        ("access-denied", "idp_refused:access_denied", "did not sign you in", 403),
    ],
)
def test_a_failing_scenario_shows_its_page_issues_no_code_and_is_audited(
    world: OidcWorld, scenario: str, reason: str, page: str, status: int
) -> None:
    _, to_idp = world.start()
    back = world.back(world.at_idp(to_idp, scenario=scenario))
    assert back.status_code == status, back.text
    assert "location" not in back.headers
    assert page in back.text
    assert back.headers["x-request-id"] in back.text
    assert "Traceback" not in back.text
    assert identities(world) == 0
    assert failures(world) == [reason]


def test_the_idps_error_description_is_never_shown(world: OidcWorld) -> None:
    _, to_idp = world.start()
    back = world.back(world.at_idp(to_idp, scenario="access-denied"))
    assert "simulated" not in back.text.lower()  # the simulator's own sentence


def test_an_email_outside_the_verified_domains_is_refused(world: OidcWorld) -> None:
    """nOAuth: the IdP vouches for the address, but only the organization's verified
    domains may log in through its connection."""
    _, to_idp = world.start()
    back = world.back(world.at_idp(to_idp, email="ceo@victim.test"))
    assert back.status_code == 403
    assert "cannot be used here" in back.text
    assert failures(world) == ["email_domain_not_verified"]


def test_the_callback_replayed_is_refused(world: OidcWorld) -> None:
    _, to_idp = world.start()
    first = world.back(world.at_idp(to_idp, scenario="replay"))
    assert first.status_code == 302
    again = world.back(world.replay())
    assert again.status_code == 400
    assert "location" not in again.headers
    assert "This sign-in has expired" in again.text
    assert failures(world) == ["flow_expired"]
    assert identities(world) == 1


def test_a_state_is_single_use_even_after_a_failure(world: OidcWorld) -> None:
    """R-01: the first answer for a hand-off spends it; a second one, even genuine, is
    refused."""
    _, to_idp = world.start()
    callback = world.at_idp(to_idp)
    forged = callback.replace("code=", "code=forged")
    assert world.back(forged).status_code == 400
    again = world.back(callback)
    assert again.status_code == 400
    assert "already answered" in again.text
    assert sorted(str(reason) for reason in failures(world)) == [
        "answer_already_used",
        "token_error",
    ]


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
