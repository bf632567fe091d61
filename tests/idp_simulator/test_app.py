"""The web app through Starlette's TestClient: metadata, SSO → login → auto-post, replay."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from lxml import html
from starlette.testclient import TestClient

from idp_simulator.app import create_app
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys
from idp_simulator.saml.signing import verify
from tests.idp_simulator.conftest import NOW
from tests.idp_simulator.saml_helpers import (
    ACS_URL,
    NS,
    REQUEST_ID,
    authn_request_xml,
    parse,
    post_params,
    redirect_params,
)


@pytest.fixture
def client(config: SimulatorConfig, keys: IdpKeys) -> Iterator[TestClient]:
    with TestClient(create_app(config, keys=keys, clock=lambda: NOW)) as client:
        yield client


def hidden_fields(page_html: str, form_id: str | None = None) -> dict[str, str]:
    document = html.fromstring(page_html)
    forms = document.forms if form_id is None else [document.get_element_by_id(form_id)]
    (form,) = forms
    return {i.name: i.value for i in form.inputs if i.get("type") == "hidden"}


def start(client: TestClient, *, binding: str = "redirect", xml: bytes | None = None) -> str:
    """Send an AuthnRequest; returns the pending key from the login page."""
    xml = xml or authn_request_xml()
    if binding == "redirect":
        response = client.get("/sso", params=redirect_params(xml))
    else:
        response = client.post("/sso", data=post_params(xml))
    assert response.status_code == 200, response.text
    assert "Log in to the simulator" in response.text
    return hidden_fields(response.text)["pending"]


def login(client: TestClient, pending: str, **fields: str):
    form = {
        "pending": pending,
        "email": "alice@example.com",
        "given_name": "Alice",
        "family_name": "Example",
        "groups": "engineering,admins",
        "attributes": "",
        "scenario": "",
        "sign": "both",
        **fields,
    }
    return client.post("/sso/login", data=form)


def posted(response) -> tuple[str, dict[str, str]]:
    """The auto-post form's action and hidden fields."""
    assert response.status_code == 200, response.text
    form = html.fromstring(response.text).get_element_by_id("saml-autopost")
    assert form.get("method") == "post"
    return form.get("action"), hidden_fields(response.text, "saml-autopost")


def test_metadata(client: TestClient, keys: IdpKeys):
    response = client.get("/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/samlmetadata+xml"
    root = parse(response.content)
    assert root.get("entityID") == "http://127.0.0.1:7000/metadata"
    assert keys.certificate_base64() in response.text


def test_home_and_healthz(client: TestClient):
    home = client.get("/")
    assert home.status_code == 200
    assert "http://127.0.0.1:7000/metadata" in home.text
    assert "nameid-comment" in home.text
    assert client.get("/healthz").text == "ok"


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_sso_login_autopost(client: TestClient, keys: IdpKeys, binding):
    pending = start(client, binding=binding)
    assert len(base64.urlsafe_b64decode(pending + "=")) == 32
    action, fields = posted(login(client, pending))
    assert action == ACS_URL
    assert fields["RelayState"] == "rs-123"
    root = parse(base64.b64decode(fields["SAMLResponse"]))
    assert root.get("Destination") == ACS_URL
    assert root.get("InResponseTo") == REQUEST_ID
    assert root.findtext("saml:Assertion/saml:Subject/saml:NameID", namespaces=NS) == (
        "alice@example.com"
    )
    verify(root, keys.certificate_pem)


def test_autopost_page_uses_a_static_script_under_csp(client: TestClient):
    response = login(client, start(client))
    document = html.fromstring(response.text)
    scripts = document.xpath("//script")
    assert [s.get("src") for s in scripts] == ["http://testserver/static/autopost.js"]
    assert all(not (s.text or "").strip() for s in scripts)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    script = client.get("/static/autopost.js")
    assert script.status_code == 200
    assert "saml-autopost" in script.text
    assert script.headers["x-frame-options"] == "DENY"


def test_pending_request_is_single_use(client: TestClient):
    pending = start(client)
    posted(login(client, pending))
    again = login(client, pending)
    assert again.status_code == 400
    assert "expired" in again.text
    assert login(client, "made-up").status_code == 400


def test_form_fields_cannot_redirect_the_response(client: TestClient):
    pending = start(client)
    action, fields = posted(
        login(client, pending, AssertionConsumerServiceURL="http://localhost:9/steal", acs="x")
    )
    assert action == ACS_URL
    assert parse(base64.b64decode(fields["SAMLResponse"])).get("Destination") == ACS_URL


def test_invalid_login_form_shows_the_form_again(client: TestClient):
    pending = start(client)
    response = login(client, pending, email="not-an-email")
    assert response.status_code == 400
    assert "enter an email address" in response.text
    assert hidden_fields(response.text)["pending"] == pending
    posted(login(client, pending))


@pytest.mark.parametrize("email", ["expired@example.com", "alice+expired@example.com"])
def test_scenario_by_local_part(client: TestClient, email):
    _, fields = posted(login(client, start(client), email=email))
    root = parse(base64.b64decode(fields["SAMLResponse"]))
    conditions = root.find("saml:Assertion/saml:Conditions", NS)
    assert conditions.get("NotOnOrAfter") == "2026-01-15T11:00:00Z"


def test_scenario_and_sign_from_the_form(client: TestClient):
    _, fields = posted(
        login(client, start(client), scenario="status-authn-failed", sign="response")
    )
    root = parse(base64.b64decode(fields["SAMLResponse"]))
    assert root.find("saml:Assertion", NS) is None
    assert root.find("ds:Signature", NS) is not None


def test_replay_posts_the_same_response_again(client: TestClient):
    missing = client.get("/replay")
    assert missing.status_code == 404
    assert "Nothing to replay" in missing.text
    first = posted(login(client, start(client), email="replay@example.com"))
    assert posted(client.get("/replay")) == first
    assert posted(client.get("/replay")) == first


def test_acs_outside_allowed_prefixes_is_a_400_page(client: TestClient):
    response = client.get(
        "/sso", params=redirect_params(authn_request_xml(acs_url="https://attacker.test/acs"))
    )
    assert response.status_code == 400
    assert "will not post to https://attacker.test/acs" in response.text
    assert "IDP_SIM_ALLOWED_ACS" in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_sso_errors_are_400_pages(client: TestClient):
    assert client.get("/sso").status_code == 400
    query = "/sso?SAMLRequest=a&SAMLRequest=b"
    duplicate = client.get(query)
    assert duplicate.status_code == 400
    assert "more than once" in duplicate.text
    bad_xml = client.post("/sso", data={"SAMLRequest": base64.b64encode(b"<a").decode()})
    assert bad_xml.status_code == 400
    assert "Traceback" not in bad_xml.text


def test_unknown_paths_get_an_error_page(client: TestClient):
    response = client.get("/nope")
    assert response.status_code == 404
    assert "Error 404" in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert client.get("/sso/login").status_code == 405
