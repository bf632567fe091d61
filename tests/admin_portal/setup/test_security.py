"""The setup assistant's refusals (docs/security.md T-04, T-08): another organization's
ids are "not found" on every page and form; a form without the session's token or from
another site does nothing; a link that does not grant a step does not reach it; an edit link
starts no new connection; a connection that is on is not changed through the assistant.
Each one leaves the database as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from broker.model.management import UserAttribute
from broker.store import Store
from tests.admin_portal.setup_world import IDP_METADATA_URL, ORIGIN, SetupWorld, setup_world
from tests.support.gatehouse import ACTOR
from tests.support.portal_forms import csrf_token

#: Every assistant page of a connection, and every form, with a body that would change it.
PAGES = ("guide", "settings", "attributes", "test", "activate", "done")
FORMS = {
    "settings": {"source": "url", "metadata_url": IDP_METADATA_URL},
    "attributes": {"names_email": "mail", "required_name": "1"},
    "activate": {},
}


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def post(browser: TestClient, path: str, data: dict[str, str], token: str) -> httpx.Response:
    answer: httpx.Response = browser.post(
        path, data={"csrf": token, **data}, headers=ORIGIN, follow_redirects=False
    )
    return answer


def test_another_organizations_connection_is_not_found_anywhere(world: SetupWorld) -> None:
    mine, theirs = world.organization("Acme"), world.organization("Rival")
    other = world.begin(theirs.id, "okta", "saml")
    world.broker.management.domains.add(ACTOR, theirs.id, "rival.example")
    before = (world.connection(other.id), len(world.events(theirs.id)))
    browser = world.signed_in(mine.id)
    token = csrf_token(browser.get("/portal/").text)
    for page in PAGES:
        answer = browser.get(f"/portal/setup/{other.id}/{page}", follow_redirects=False)
        assert answer.status_code == 404, page
        assert "Rival" not in answer.text
    for form, data in FORMS.items():
        answer = post(browser, f"/portal/setup/{other.id}/{form}", data, token)
        assert answer.status_code == 404, form
    assert browser.get(f"/portal/domains?connection={other.id}").status_code == 404
    check = post(browser, "/portal/domains/rival.example/check", {}, token)
    assert check.status_code == 404
    assert world.broker.management.domains.get(theirs.id, "rival.example").verified_at is None
    assert (world.connection(other.id), len(world.events(theirs.id))) == before
    assert world.connections(mine.id) == []


def test_every_form_needs_the_sessions_token_and_our_own_origin(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    world.broker.management.domains.add(ACTOR, org.id, "acme.example")
    browser = world.signed_in(org.id)
    token = csrf_token(browser.get("/portal/").text)
    events = len(world.events(org.id))
    forms = {
        "/portal/setup/begin": {"choice": "okta:saml"},
        **{f"/portal/setup/{connection.id}/{form}": data for form, data in FORMS.items()},
        "/portal/domains": {"name": "other.example"},
        "/portal/domains/acme.example/check": {},
    }
    for path, data in forms.items():
        no_token = browser.post(path, data=data, headers=ORIGIN, follow_redirects=False)
        assert no_token.status_code == 403, path
        assert "This form has expired" in no_token.text
        wrong = post(browser, path, data, token + "x")
        assert wrong.status_code == 403, path
        cross_site = browser.post(
            path, data={"csrf": token, **data}, headers={"Origin": "https://evil.example"},
            follow_redirects=False,
        )  # fmt: skip
        assert cross_site.status_code == 403, path
    assert world.connections(org.id) == [connection]
    assert len(world.events(org.id)) == events
    assert [d.name for d in world.broker.management.domains.page(org.id, after=None, limit=9)] == [
        "acme.example"
    ]


def test_a_link_without_sso_reaches_no_setup_page(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id, enabled_features=["domain_verification"])
    welcome = browser.get("/portal/")
    assert 'href="/portal/domains"' in welcome.text
    assert "Choose your identity provider" not in welcome.text
    token = csrf_token(welcome.text)
    assert browser.get("/portal/setup").status_code == 403
    begun = post(browser, "/portal/setup/begin", {"choice": "okta:saml"}, token)
    assert begun.status_code == 403
    assert "Not part of this link" in begun.text
    for page in PAGES:
        assert browser.get(f"/portal/setup/{connection.id}/{page}").status_code == 403, page
    for form, data in FORMS.items():
        assert post(browser, f"/portal/setup/{connection.id}/{form}", data, token).status_code == (
            403
        ), form
    assert world.connections(org.id) == [connection]
    # The domains step is this link's: without the step indicator of the assistant.
    domains = browser.get("/portal/domains")
    assert domains.status_code == 200
    assert 'aria-label="Setup steps"' not in domains.text


def test_a_link_without_domain_verification_reaches_no_domain_page(world: SetupWorld) -> None:
    org = world.organization()
    world.broker.management.domains.add(ACTOR, org.id, "acme.example")
    browser = world.signed_in(org.id, enabled_features=["sso"])
    token = csrf_token(browser.get("/portal/").text)
    assert browser.get("/portal/domains").status_code == 403
    assert post(browser, "/portal/domains", {"name": "new.example"}, token).status_code == 403
    assert post(browser, "/portal/domains/acme.example/check", {}, token).status_code == 403
    names = [d.name for d in world.broker.management.domains.page(org.id, after=None, limit=9)]
    assert names == ["acme.example"]
    choose = browser.get("/portal/setup")
    assert ">Domains<" not in choose.text  # no step the link cannot reach


def test_only_the_profiles_identity_providers_are_offered(world: SetupWorld) -> None:
    org = world.organization()
    profile = world.profile(strategies=["okta", "adfs"]).id
    browser = world.signed_in(org.id, profile_id=profile)
    choose = browser.get("/portal/setup")
    offered = {v for v in ("okta:saml", "okta:oidc", "adfs:saml") if f'value="{v}"' in choose.text}
    assert offered == {"okta:saml", "okta:oidc", "adfs:saml"}
    assert 'value="entra:' not in choose.text
    assert "Google Workspace" not in choose.text
    for choice in ("entra:saml", "adfs:oidc", "nothing", ""):
        refused = post(browser, "/portal/setup/begin", {"choice": choice}, csrf_token(choose.text))
        assert refused.status_code == 422, choice
        assert "Choose one of the identity providers listed here." in refused.text
    assert world.connections(org.id) == []


def test_the_profiles_required_attributes_cannot_be_made_optional(world: SetupWorld) -> None:
    org = world.organization()
    profile = world.profile(
        attributes=[UserAttribute(name="email"), UserAttribute(name="groups"),
                    UserAttribute(name="name", required=False)],
    ).id  # fmt: skip
    browser = world.signed_in(org.id, profile_id=profile)
    choose = browser.get("/portal/setup")
    begun = post(browser, "/portal/setup/begin", {"choice": "okta:saml"}, csrf_token(choose.text))
    [connection] = world.connections(org.id)
    assert connection.config["required_claims"] == ["email", "groups"]
    settings = browser.get(begun.headers["location"].replace("/guide", "/settings"))
    metadata = {"source": "url", "metadata_url": IDP_METADATA_URL}
    post(browser, f"/portal/setup/{connection.id}/settings", metadata, csrf_token(settings.text))
    page = browser.get(f"/portal/setup/{connection.id}/attributes")
    assert 'id="required_groups" name="required_groups" value="1" checked disabled' in page.text
    # The checkboxes left unticked (a disabled one is never sent): still required.
    saved = post(browser, f"/portal/setup/{connection.id}/attributes", {}, csrf_token(page.text))
    assert saved.status_code == 303
    assert world.connection(connection.id).config["required_claims"] == ["email", "groups"]


def test_an_edit_link_starts_no_new_connection(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id, connection_id=connection.id)
    token = csrf_token(browser.get("/portal/no-such-page").text)
    refused = post(browser, "/portal/setup/begin", {"choice": "okta:saml"}, token)
    assert refused.status_code == 403
    assert browser.get("/portal/setup").status_code == 403
    assert world.connections(org.id) == [connection]


def test_a_connection_that_is_on_is_not_changed_through_the_assistant(world: SetupWorld) -> None:
    org = world.organization()
    created = world.broker.management.connections.create_saml(
        ACTOR, org.id, {"metadata_xml": world.metadata().decode(), "strategy": "okta"}
    )
    on = created.connection
    browser = world.signed_in(org.id)
    token = csrf_token(browser.get("/portal/").text)
    for page in PAGES[:-1]:
        answer = browser.get(f"/portal/setup/{on.id}/{page}", follow_redirects=False)
        assert answer.status_code == 303, page
        assert answer.headers["location"] == f"/portal/connections/{on.id}"
    for form, data in FORMS.items():
        answer = post(browser, f"/portal/setup/{on.id}/{form}", data, token)
        assert answer.status_code == 303, form
    assert world.connection(on.id) == on
