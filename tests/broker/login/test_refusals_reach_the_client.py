"""A refused login reaches the client that started it (issue 15 item 1; OIDC Core §3.1.2.6,
RFC 9207): the page's button, or at once for a client set to `redirect`, delivers `error`,
an `error_description` with the public reason and the page's reference, `state` and `iss`
to the redirect URI validated at /authorize. Refusals that prove nothing about who is
asking stay pages. Each test fails when its rule is removed."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from broker.model.records import OnRefusal
from tests.support.config import ISSUER, RP_CALLBACK
from tests.support.fake_connector import idp_answer, return_path
from tests.support.harness import Harness, Login
from tests.support.saml_pages import hidden_fields
from tests.support.scenario_checks import back_to_client


def refused_at_the_idp(gatehouse: Harness, login: Login | None = None) -> httpx.Response:
    at_idp = gatehouse.authorize(login or gatehouse.new_login())
    return gatehouse.idp_returns(at_idp, error="access_denied")


def set_on_refusal(gatehouse: Harness, on_refusal: OnRefusal) -> None:
    with gatehouse.store.unit_of_work() as uow:
        uow.clients.save(replace(uow.clients.get(gatehouse.client_id), on_refusal=on_refusal))


def params_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_the_page_takes_the_person_back_with_the_error_state_and_issuer(
    gatehouse: Harness,
) -> None:
    login = gatehouse.new_login()
    page = refused_at_the_idp(gatehouse, login)
    assert page.status_code == 403
    assert "did not sign you in" in page.text
    back = back_to_client(page.text)
    assert back is not None
    assert back.startswith(RP_CALLBACK + "?")
    reference = page.headers["x-request-id"]
    assert params_of(back) == {
        "error": "access_denied",
        "error_description": f"idp_refused (reference {reference})",
        "state": login.state,
        "iss": ISSUER,
    }


def test_a_client_set_to_redirect_gets_the_error_at_once(gatehouse: Harness) -> None:
    set_on_refusal(gatehouse, OnRefusal.REDIRECT)
    login = gatehouse.new_login()
    response = refused_at_the_idp(gatehouse, login)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(RP_CALLBACK + "?")
    params = params_of(location)
    assert params["error"] == "access_denied"
    assert params["state"] == login.state
    assert params["iss"] == ISSUER
    assert "code" not in params
    with gatehouse.store.unit_of_work() as uow:
        [event] = uow.audit.list(kind="login.failed")
    assert event.reason == "idp_refused:access_denied"
    assert params["error_description"] == f"idp_refused (reference {event.request_id})"


def test_a_login_without_state_is_told_without_state(gatehouse: Harness) -> None:
    page = refused_at_the_idp(gatehouse, gatehouse.new_login(state=None))
    back = back_to_client(page.text)
    assert back is not None
    assert "state" not in params_of(back)


def test_the_flows_own_refusals_stay_pages(gatehouse: Harness) -> None:
    """An answer from another browser: nothing proves it is the person the client sent, so
    the client hears nothing, not even an error (RFC 9700 §4.11.2)."""
    at_idp = gatehouse.authorize(gatehouse.new_login())
    location = at_idp.headers["location"]
    answer = idp_answer(location, sub="idp-ann", email="ann@acme.test")
    with TestClient(gatehouse.client.app, base_url=ISSUER) as other_browser:
        page = other_browser.get(return_path(location, answer), follow_redirects=False)
    assert page.status_code == 400
    assert "started in another browser" in page.text
    assert back_to_client(page.text) is None


def test_a_client_deleted_since_the_flow_began_hears_nothing(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    with gatehouse.store.unit_of_work() as uow:
        uow.clients.delete(gatehouse.client_id)
    page = gatehouse.idp_returns(at_idp, error="access_denied")
    assert page.status_code == 403
    assert back_to_client(page.text) is None


def test_a_refusal_told_to_the_client_ends_the_flow(gatehouse: Harness) -> None:
    """One response per request: after the error, neither a second answer nor the email
    page can make the same flow issue a code."""
    login = gatehouse.new_login(login_hint=None)
    email_page = gatehouse.authorize(login)
    form = hidden_fields(email_page.text)
    at_idp = gatehouse.client.post(
        "/login", data={**form, "email": "ann@acme.test"}, follow_redirects=False
    )
    first = gatehouse.idp_returns(at_idp, error="access_denied")
    assert back_to_client(first.text) is not None
    again = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert "This sign-in has expired" in again.text
    assert back_to_client(again.text) is None
    rerouted = gatehouse.client.post(
        "/login", data={**form, "email": "ann@acme.test"}, follow_redirects=False
    )
    assert "This sign-in has expired" in rerouted.text
    assert "location" not in rerouted.headers


def test_an_answer_after_another_took_the_hand_off_is_not_told(gatehouse: Harness) -> None:
    """The hand-off was answered, and that answer told no one (its client was deleted,
    then registered again): a second answer into the flow stays a page and leaves the flow
    alone, since the answer that took the hand-off owns the request's one response (two
    processes answering one double submit: the loser must not consume the winner's flow)."""
    at_idp = gatehouse.authorize(gatehouse.new_login())
    with gatehouse.store.unit_of_work() as uow:
        client = uow.clients.get(gatehouse.client_id)
        uow.clients.delete(gatehouse.client_id)
    assert back_to_client(gatehouse.idp_returns(at_idp, error="access_denied").text) is None
    with gatehouse.store.unit_of_work() as uow:
        uow.clients.add(client)
    again = gatehouse.idp_returns(at_idp, error="access_denied")
    assert "already answered" in again.text
    assert back_to_client(again.text) is None
    flow_id = parse_qs(urlsplit(at_idp.headers["location"]).query)["state"][0]
    with gatehouse.store.unit_of_work() as uow:
        assert uow.flows.get(flow_id, now=gatehouse.clock.now()).id == flow_id  # not consumed


def test_a_connection_turned_off_meanwhile_is_told_as_access_denied(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    with gatehouse.store.unit_of_work() as uow:
        connection = uow.connections.get(gatehouse.connection.id)
        uow.connections.save(replace(connection, active=False), expected_version=connection.version)
    page = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert page.status_code == 403
    back = back_to_client(page.text)
    assert back is not None
    assert params_of(back)["error"] == "access_denied"
    assert params_of(back)["error_description"].startswith("connection_inactive ")


@pytest.mark.parametrize("on_refusal", list(OnRefusal))
def test_a_policy_refusal_after_verification_is_told_by_its_reason(
    gatehouse: Harness, on_refusal: OnRefusal
) -> None:
    set_on_refusal(gatehouse, on_refusal)
    at_idp = gatehouse.authorize(gatehouse.new_login())
    response = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@elsewhere.test")
    back = (
        response.headers["location"]
        if on_refusal is OnRefusal.REDIRECT
        else back_to_client(response.text)
    )
    assert back is not None
    assert params_of(back)["error"] == "access_denied"
    assert params_of(back)["error_description"].startswith("email_domain_not_verified ")
