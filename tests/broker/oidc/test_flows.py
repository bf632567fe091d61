"""Flows: stored server-side, single use, ~10 minutes, finishable by any process."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from broker.app import create_app
from tests.support.config import ISSUER
from tests.support.fake_connector import FakeConnectorConfig, idp_answer, return_path
from tests.support.harness import Harness, callback_params


def test_a_flow_started_on_one_process_finishes_on_another(gatehouse: Harness) -> None:
    login = gatehouse.new_login()
    at_idp = gatehouse.authorize(login)
    other_app = create_app(
        gatehouse.settings,
        store=gatehouse.store,
        clock=gatehouse.clock,
        connector_types={"test": FakeConnectorConfig},
    )
    with TestClient(other_app, base_url=ISSUER, cookies=gatehouse.client.cookies) as other:
        answer = idp_answer(at_idp.headers["location"], sub="idp-ann", email="ann@acme.test")
        back = other.get(return_path(at_idp.headers["location"], answer), follow_redirects=False)
        code = callback_params(back)["code"]
    assert gatehouse.redeem(code, verifier=login.verifier).status_code == 200


def test_a_replayed_callback_issues_no_second_code(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    first = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert first.status_code == 302
    again = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert again.status_code == 400
    assert "location" not in again.headers
    assert "expired" in again.text


def test_a_flow_expires_after_ten_minutes(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    gatehouse.clock.advance(timedelta(minutes=10))
    back = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert back.status_code == 400
    assert "This sign-in has expired" in back.text
    assert back.headers["x-request-id"] in back.text


def test_a_flow_is_alive_just_before_ten_minutes(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    gatehouse.clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test").status_code == 302


def test_an_unknown_flow_gets_a_page(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    forged = {"state": "forged", "proof": "x", "sub": "a"}
    response = gatehouse.client.get(return_path(at_idp.headers["location"], forged))
    assert response.status_code == 400
    assert "expired" in response.text


def test_the_connector_check_is_enforced(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    answer = idp_answer(at_idp.headers["location"], sub="idp-ann", email="ann@acme.test")
    answer["proof"] = "forged"
    back = gatehouse.client.get(
        return_path(at_idp.headers["location"], answer), follow_redirects=False
    )
    assert back.status_code == 400
    assert "could not verify your sign-in" in back.text
    # One answer per hand-off (the state is single use): even a genuine one now is refused;
    # the refusal was told to the client, which ended the flow.
    again = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert again.status_code == 400
    assert "This sign-in has expired" in again.text


def test_an_upstream_refusal_is_explained_and_issues_no_code(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    answer = idp_answer(at_idp.headers["location"], error="user_not_assigned")
    back = gatehouse.client.get(
        return_path(at_idp.headers["location"], answer), follow_redirects=False
    )
    assert back.status_code == 403
    assert "user_not_assigned" in back.text
    assert "location" not in back.headers


def test_a_callback_for_an_unknown_connection_is_refused(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    answer = idp_answer(at_idp.headers["location"], sub="idp-ann", email="ann@acme.test")
    back = gatehouse.client.get("/callback/con_unknown?" + urlencode(answer))
    assert back.status_code == 404
    assert "wrong place" in back.text


def test_a_callback_from_another_browser_is_refused(gatehouse: Harness) -> None:
    """Login CSRF (RFC 9700 §4.7): the answer must come back to the browser that started."""
    at_idp = gatehouse.authorize(gatehouse.new_login())
    answer = idp_answer(at_idp.headers["location"], sub="idp-ann", email="ann@acme.test")
    path = return_path(at_idp.headers["location"], answer)
    with TestClient(gatehouse.client.app, base_url=ISSUER) as stranger:
        back = stranger.get(path, follow_redirects=False)
    assert back.status_code == 400
    assert "started in another browser" in back.text
    assert "location" not in back.headers
    assert gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test").status_code == 302


def test_key_rotation_does_not_break_a_login_in_flight(gatehouse: Harness) -> None:
    # The RP cached the JWKS before the login started, as Auth0 does.
    cached = KeySet.import_key_set(gatehouse.client.get("/jwks.json").json())
    login = gatehouse.new_login()
    at_idp = gatehouse.authorize(login)
    broker = gatehouse.client.app.state.broker  # type: ignore[attr-defined]
    broker.keys.rotate()
    gatehouse.clock.advance(timedelta(seconds=10))  # past the manager's current-key cache
    back = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    code = callback_params(back)["code"]
    id_token = gatehouse.redeem(code, verifier=login.verifier).json()["id_token"]
    claims = gatehouse.verify_id_token(id_token, keys=cached)
    assert claims["iss"] == ISSUER


def test_tokens_signed_before_a_rotation_still_verify_after_it(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    id_token = gatehouse.redeem(code, verifier=login.verifier).json()["id_token"]
    broker = gatehouse.client.app.state.broker  # type: ignore[attr-defined]
    broker.keys.rotate()
    assert gatehouse.verify_id_token(id_token)["sub"]


def test_an_account_of_another_workspace_domain_is_refused(gatehouse: Harness) -> None:
    """Google's `hd` (R-16): the IdP says the account belongs to a Workspace domain; it must
    be one the organization verified, whatever the email says."""
    at_idp = gatehouse.authorize(gatehouse.new_login())
    back = gatehouse.idp_returns(at_idp, sub="g-1", email="ann@acme.test", hd="other.test")
    assert back.status_code == 403
    assert "belongs to another organization" in back.text
    at_idp = gatehouse.authorize(gatehouse.new_login())
    assert (
        gatehouse.idp_returns(at_idp, sub="g-1", email="ann@acme.test", hd="acme.test").status_code
        == 302
    )


def test_a_connector_that_fails_unexpectedly_still_leaves_an_audit_event(
    gatehouse: Harness,
) -> None:
    """A bug in a connector (the test one reads `sub` without checking it is there) is a
    500, and the attempt is recorded: the hand-off it spent is not silent."""
    at_idp = gatehouse.authorize(gatehouse.new_login())
    location = at_idp.headers["location"]
    answer = idp_answer(location, email="ann@acme.test")  # no sub
    crashed = gatehouse.client.get(return_path(location, answer), follow_redirects=False)
    assert crashed.status_code == 500
    with gatehouse.store.unit_of_work() as uow:
        [event] = uow.audit.list(kind="login.failed")
    assert (event.reason, event.detail) == ("internal_error", {"detail": "KeyError"})
    assert event.request_id
    assert event.request_id in crashed.text  # the reference the person quotes
