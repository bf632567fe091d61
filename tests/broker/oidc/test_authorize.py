"""`/authorize`: one test per rule, each failing if its rule is removed."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.support.config import ISSUER, RP_CALLBACK
from tests.support.harness import Harness, callback_params
from tests.support.saml_pages import hidden_fields


def assert_error_page(response: httpx.Response) -> None:
    """Errors before the redirect_uri is trusted are shown, never redirected."""
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "text/html" in response.headers["content-type"]
    assert response.headers["x-request-id"] in response.text  # the reference a person quotes
    assert "Traceback" not in response.text


def assert_error_redirect(response: httpx.Response, error: str, state: str | None) -> None:
    assert response.status_code == 302, response.text
    params = callback_params(response)
    assert params["error"] == error
    assert params.get("state") == state
    assert params["iss"] == ISSUER  # RFC 9207
    assert "code" not in params


def test_unknown_client_gets_a_page_not_a_redirect(gatehouse: Harness) -> None:
    login = gatehouse.new_login(client_id="nobody")
    assert_error_page(gatehouse.authorize(login))


def test_missing_client_id_gets_a_page(gatehouse: Harness) -> None:
    login = gatehouse.new_login(client_id=None)
    assert_error_page(gatehouse.authorize(login))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://rp.test/callback/",  # trailing slash
        "https://rp.test/callback/../evil",
        "https://rp.test/callbackx",  # prefix
        "https://RP.test/callback",  # case "normalisation"
        "https://rp.test/callback?x=1",  # extra query
        "https://rp.test:443/callback",  # default port spelled out
        "https://evil.test/callback",
        "",
    ],
)
def test_redirect_uri_must_match_exactly(gatehouse: Harness, redirect_uri: str) -> None:
    login = gatehouse.new_login(redirect_uri=redirect_uri or None)
    assert_error_page(gatehouse.authorize(login))


def test_repeated_redirect_uri_gets_a_page(gatehouse: Harness) -> None:
    login = gatehouse.new_login()
    query = urlencode(login.params) + "&" + urlencode({"redirect_uri": "https://evil.test/cb"})
    assert_error_page(gatehouse.client.get("/authorize?" + query, follow_redirects=False))


def test_response_type_other_than_code_is_redirected_as_error(gatehouse: Harness) -> None:
    login = gatehouse.new_login(response_type="token")
    assert_error_redirect(gatehouse.authorize(login), "unsupported_response_type", login.state)


def test_missing_response_type_is_invalid_request(gatehouse: Harness) -> None:
    login = gatehouse.new_login(response_type=None)
    assert_error_redirect(gatehouse.authorize(login), "invalid_request", login.state)


def test_openid_scope_is_required(gatehouse: Harness) -> None:
    login = gatehouse.new_login(scope="profile email")
    assert_error_redirect(gatehouse.authorize(login), "invalid_scope", login.state)


def test_request_object_is_refused(gatehouse: Harness) -> None:
    login = gatehouse.new_login(request="eyJhbGciOiJub25lIn0.e30.")
    assert_error_redirect(gatehouse.authorize(login), "request_not_supported", login.state)


def test_request_uri_is_refused(gatehouse: Harness) -> None:
    login = gatehouse.new_login(request_uri="https://attacker.test/req.jwt")
    assert_error_redirect(gatehouse.authorize(login), "request_uri_not_supported", login.state)


def test_plain_pkce_is_refused(gatehouse: Harness) -> None:
    login = gatehouse.new_login(code_challenge="a" * 43, code_challenge_method="plain")
    assert_error_redirect(gatehouse.authorize(login), "invalid_request", login.state)


def test_pkce_without_method_means_plain_and_is_refused(gatehouse: Harness) -> None:
    login = gatehouse.new_login(code_challenge_method=None)
    assert_error_redirect(gatehouse.authorize(login), "invalid_request", login.state)


def test_malformed_s256_challenge_is_refused(gatehouse: Harness) -> None:
    login = gatehouse.new_login(code_challenge="too-short")
    assert_error_redirect(gatehouse.authorize(login), "invalid_request", login.state)


def test_public_client_must_use_pkce(gatehouse: Harness) -> None:
    login = gatehouse.new_login(
        pkce=False, client_id=gatehouse.public_client_id, redirect_uri="http://127.0.0.1:9999/cb"
    )
    assert_error_redirect(gatehouse.authorize(login), "invalid_request", login.state)


def test_confidential_client_may_omit_pkce(gatehouse: Harness) -> None:
    login = gatehouse.new_login(pkce=False)
    assert gatehouse.authorize(login).headers["location"].startswith("https://idp.test/")


def test_prompt_none_answers_login_required(gatehouse: Harness) -> None:
    login = gatehouse.new_login(prompt="none")
    assert_error_redirect(gatehouse.authorize(login), "login_required", login.state)


def test_prompt_none_combined_is_invalid(gatehouse: Harness) -> None:
    login = gatehouse.new_login(prompt="none login")
    assert_error_redirect(gatehouse.authorize(login), "invalid_request", login.state)


@pytest.mark.parametrize(
    "max_age",
    [
        "soon",
        "-1",
        " 5",
        "1_0",
        "²",  # str.isdigit() says yes, int() raises
        "١٢",  # Arabic-Indic digits: int() reads them, OIDC does not
        "9" * 5000,  # past CPython's int-string conversion limit
        "2147483648",  # absurd: more than 68 years
    ],
)
def test_max_age_must_be_a_sane_number_of_ascii_digits(gatehouse: Harness, max_age: str) -> None:
    login = gatehouse.new_login(max_age=max_age)
    assert_error_redirect(gatehouse.authorize(login), "invalid_request", login.state)


def test_max_age_up_to_the_maximum_is_accepted(gatehouse: Harness) -> None:
    login = gatehouse.new_login(max_age="2147483647")
    assert gatehouse.authorize(login).headers["location"].startswith("https://idp.test/")


def test_repeated_parameter_is_invalid_request(gatehouse: Harness) -> None:
    login = gatehouse.new_login()
    query = urlencode(login.params) + "&scope=openid"
    response = gatehouse.client.get("/authorize?" + query, follow_redirects=False)
    assert_error_redirect(response, "invalid_request", login.state)


def test_error_redirect_keeps_the_registered_query(gatehouse: Harness) -> None:
    login = gatehouse.new_login(scope="email")
    location = gatehouse.authorize(login).headers["location"]
    assert location.startswith(RP_CALLBACK + "?")


def test_state_is_returned_verbatim(gatehouse: Harness) -> None:
    state = "a b+c/d=é&x?y#z"
    login = gatehouse.new_login(state=state)
    back = gatehouse.idp_returns(gatehouse.authorize(login), sub="idp-ann", email="ann@acme.test")
    params = callback_params(back)
    assert params["state"] == state
    assert params["code"]


def test_state_is_optional(gatehouse: Harness) -> None:
    login = gatehouse.new_login(state=None)
    back = gatehouse.idp_returns(gatehouse.authorize(login), sub="idp-ann", email="ann@acme.test")
    params = callback_params(back)
    assert "state" not in params
    assert params["iss"] == ISSUER


def test_login_hint_routes_straight_to_the_idp(gatehouse: Harness) -> None:
    response = gatehouse.authorize(gatehouse.new_login())
    assert response.status_code == 302
    idp_query = parse_qs(urlsplit(response.headers["location"]).query)
    assert idp_query["login_hint"] == ["ann@acme.test"]
    assert idp_query["return_to"][0].startswith(f"{ISSUER}/callback/con_")


def test_without_hints_the_person_is_asked_for_their_email(gatehouse: Harness) -> None:
    response = gatehouse.authorize(gatehouse.new_login(login_hint=None))
    assert response.status_code == 200
    assert 'name="email"' in response.text
    form = hidden_fields(response.text)
    submitted = gatehouse.client.post(
        "/login", data={**form, "email": "Bob@ACME.test"}, follow_redirects=False
    )
    assert submitted.headers["location"].startswith("https://idp.test/login?")


def test_unknown_domain_gets_a_page_to_try_again(gatehouse: Harness) -> None:
    response = gatehouse.authorize(gatehouse.new_login(login_hint="eve@elsewhere.test"))
    assert response.status_code == 400
    assert "no single sign-on set up for elsewhere.test" in response.text
    assert 'name="email"' in response.text


def test_organization_hint_routes(gatehouse: Harness) -> None:
    login = gatehouse.new_login(login_hint=None, organization=gatehouse.acme.id)
    assert gatehouse.authorize(login).headers["location"].startswith("https://idp.test/")


def test_connection_hint_routes(gatehouse: Harness) -> None:
    login = gatehouse.new_login(login_hint=None, connection=gatehouse.connection.id)
    assert gatehouse.authorize(login).headers["location"].startswith("https://idp.test/")


def test_authorize_accepts_post(gatehouse: Harness) -> None:
    login = gatehouse.new_login()
    response = gatehouse.client.post("/authorize", data=login.params, follow_redirects=False)
    assert response.headers["location"].startswith("https://idp.test/")


def test_freshness_demands_are_carried_upstream(gatehouse: Harness) -> None:
    login = gatehouse.new_login(prompt="login", max_age="0")
    idp_query = parse_qs(urlsplit(gatehouse.authorize(login).headers["location"]).query)
    assert idp_query["force"] == ["1"]
    assert idp_query["max_age"] == ["0"]


def test_an_organization_with_two_connections_lets_the_person_choose(gatehouse: Harness) -> None:
    from dataclasses import replace

    second = replace(gatehouse.connection, id="con_acme_2", name="Acme contractors")
    with gatehouse.store.unit_of_work() as uow:
        uow.connections.add(second)
    response = gatehouse.authorize(gatehouse.new_login())
    assert response.status_code == 200
    assert "Acme contractors" in response.text
    form = hidden_fields(response.text)
    chosen = gatehouse.client.post(
        "/login/choose", data={**form, "connection": "con_acme_2"}, follow_redirects=False
    )
    assert chosen.headers["location"].startswith("https://idp.test/login?")
    forged = gatehouse.client.post("/login/choose", data={**form, "connection": "con_elsewhere"})
    assert forged.status_code == 400
    assert "Choose one of the listed" in forged.text


@pytest.mark.parametrize(
    ("name", "longest"),
    [("state", 2048), ("login_hint", 320), ("nonce", 512), ("organization", 255)],
)
def test_what_a_flow_stores_is_bounded_per_parameter(
    gatehouse: Harness, name: str, longest: int
) -> None:
    """Anyone may start a flow; what one costs is what one request may carry (issue 12)."""
    value = "a" * (longest - 10) + "@acme.test" if name == "login_hint" else "a" * longest
    assert len(value) == longest
    login = gatehouse.new_login()
    login.params[name] = value
    at_limit = gatehouse.authorize(login)
    assert at_limit.status_code in (200, 302, 400)
    if at_limit.status_code == 302:
        assert "error=" not in at_limit.headers["location"]
    over = gatehouse.new_login()
    over.params[name] = "a" + value
    assert_error_redirect(
        gatehouse.authorize(over), "invalid_request", over.state if name != "state" else None
    )
