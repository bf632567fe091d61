"""Directory sync in the portal (admin_portal/directory_sync/): the home page's entry, the
set-up step (base URL, a token shown once, rotation), the step that waits for the IdP's
first request and says what arrived in that IdP's words, the directory's counts and log,
and the refusals every portal page shares (feature, CSRF, another organization's id)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import httpx
from starlette.testclient import TestClient

from admin_portal.directory_sync.pages import MAX_DIRECTORIES
from broker.model.directories import DirectoryState
from broker.model.vendors import STRATEGIES
from tests.support.config import ISSUER
from tests.support.gatehouse import Gatehouse
from tests.support.portal_forms import csrf_token, post_from
from tests.support.scim import GROUP_SCHEMA, SCIM_JSON, user_body

FEATURES = ["directory_sync"]
_TOKEN = re.compile(r'<code class="value" id="top-scim_token">([^<]+)</code>')


def portal(world: Gatehouse, **link: Any) -> tuple[TestClient, str]:
    """A browser with a session of a new organization's link granting directory sync."""
    org = world.organization("Acme Corp")
    link.setdefault("enabled_features", FEATURES)
    return world.signed_in(org.id, **link), org.id


def create(browser: TestClient, **form: str) -> httpx.Response:
    page = browser.get("/portal/directories")
    assert page.status_code == 200, page.text
    return post_from(
        browser, "/portal/directories", {"vendor": "okta", "link_key": "email", **form}, page.text
    )


def created(browser: TestClient, **form: str) -> tuple[str, str]:
    """(directory id, token) from the page that made it."""
    answer = create(browser, **form)
    assert answer.status_code == 200, answer.text
    token = html.unescape(_TOKEN.search(answer.text).group(1))  # type: ignore[union-attr]
    found = re.search(r"/scim/v2/(dir_[A-Za-z0-9_-]+)", answer.text)
    assert found, answer.text
    return found.group(1), token


def scim(world: Gatehouse, directory_id: str, token: str | None) -> TestClient:
    client = TestClient(world.app, base_url=f"{ISSUER}/scim/v2/{directory_id}/")
    client.headers["Content-Type"] = SCIM_JSON
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def tick(world: Gatehouse) -> None:
    """A second passes: the log orders requests by time (the clock is fixed otherwise)."""
    world.clock.advance(timedelta(seconds=1))


def page(browser: TestClient, directory_id: str, vendor: str = "okta") -> str:
    answer = browser.get(f"/portal/directories/{directory_id}?vendor={vendor}")
    assert answer.status_code == 200, answer.text
    text: str = answer.text
    return text


# -- the entry and the feature ---------------------------------------------------------------


def test_a_link_with_directory_sync_shows_its_entry_on_the_home_page(world: Gatehouse) -> None:
    browser, _ = portal(world, enabled_features=["sso", "directory_sync"])
    home = browser.get("/portal/").text
    assert "Directory sync (SCIM)" in home
    assert 'href="/portal/directories"' in home


def test_a_link_without_it_shows_no_entry_and_cannot_open_the_pages(world: Gatehouse) -> None:
    browser, org_id = portal(world, enabled_features=["sso"])
    assert "Directory sync" not in browser.get("/portal/").text
    assert browser.get("/portal/directories").status_code == 403
    issued = world.broker.management.directories.create("t", organization_id=org_id, name="X")
    assert browser.get(f"/portal/directories/{issued.directory.id}").status_code == 403
    token = csrf_token(browser.get("/portal/").text)
    refused = browser.post(
        f"/portal/directories/{issued.directory.id}/token",
        data={"csrf": token}, headers={"Origin": ISSUER},
    )  # fmt: skip
    assert refused.status_code == 403
    assert len(world.broker.management.directories.tokens(issued.directory.id)) == 1


def test_a_link_without_it_cannot_create_a_directory(world: Gatehouse) -> None:
    browser, org_id = portal(world, enabled_features=["sso"])
    token = csrf_token(browser.get("/portal/").text)
    refused = browser.post(
        "/portal/directories",
        data={"csrf": token, "vendor": "okta", "link_key": "email"}, headers={"Origin": ISSUER},
    )  # fmt: skip
    assert refused.status_code == 403
    directories = world.broker.management.directories
    assert directories.page(organization_id=org_id, after=None, limit=10) == []


def test_an_edit_link_with_it_reaches_directory_sync_from_its_connection(
    world: Gatehouse,
) -> None:
    """An edit link lands on its connection's overview, never on the home page."""
    org = world.organization("Acme Corp")
    connection = world.broker.management.connection_setup.begin(
        "t", org.id, strategy="okta", protocol="saml", offered=STRATEGIES
    )
    browser = world.signed_in(
        org.id, connection_id=connection.id, enabled_features=["sso", "directory_sync"]
    )
    overview = browser.get(f"/portal/connections/{connection.id}")
    assert overview.status_code == 200, overview.text
    assert '<a href="/portal/directories">Directory sync (SCIM)</a>' in overview.text


def test_a_link_with_only_directory_sync_starts_there(world: Gatehouse) -> None:
    browser, _ = portal(world)
    home = browser.get("/portal/").text
    assert ">Start</a>" not in home
    assert 'href="/portal/directories"' in home


# -- the set-up step: base URL, token once, rotation -----------------------------------------


def test_create_token_shows_the_base_url_and_the_token_once(world: Gatehouse) -> None:
    browser, org_id = portal(world)
    directory_id, token = created(browser, link_key="external_id")
    directory = world.broker.management.directories.get(directory_id)
    assert directory.organization_id == org_id
    assert directory.link_key.value == "external_id"
    assert directory.name == "Okta"
    setup = browser.get(f"/portal/directories/{directory_id}/setup").text
    # The base URL with a copy button, in Okta's words; the token never again.
    assert f'id="top-scim_base_url">{ISSUER}/scim/v2/{directory_id}</code>' in setup
    assert 'data-copy="top-scim_base_url"' in setup
    assert "<strong>SCIM connector base URL</strong>" in setup
    assert token not in setup
    assert token[-4:] not in setup
    assert "shown only when it was made" in setup
    # And the token works.
    answer = scim(world, directory_id, token).post("Users", json=user_body("ann@acme.example"))
    assert answer.status_code == 201, answer.text


def test_each_vendor_has_its_guide_in_its_own_words(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, _ = created(browser)
    words = {
        "okta": "Test Connector Configuration",
        "entra": "Secret Token",
        "onelogin": "SCIM Bearer Token",
        "jumpcloud": "Token Key",
        "generic": "Authorization: Bearer",
    }
    for vendor, label in words.items():
        setup = browser.get(f"/portal/directories/{directory_id}/setup?vendor={vendor}")
        assert setup.status_code == 200
        assert label in setup.text, vendor


def test_rotating_shows_a_new_token_once_and_the_old_one_works_for_the_overlap(
    world: Gatehouse,
) -> None:
    browser, _ = portal(world)
    directory_id, old = created(browser, vendor="entra")
    setup = browser.get(f"/portal/directories/{directory_id}/setup").text
    rotated = post_from(browser, f"/portal/directories/{directory_id}/token", {}, setup)
    assert rotated.status_code == 200, rotated.text
    new = html.unescape(_TOKEN.search(rotated.text).group(1))  # type: ignore[union-attr]
    assert new != old
    assert "The previous token keeps working until" in rotated.text
    assert "<strong>Secret Token</strong>" in rotated.text  # still Entra's guide
    assert scim(world, directory_id, old).get("Users").status_code == 200
    assert scim(world, directory_id, new).get("Users").status_code == 200
    assert new not in browser.get(f"/portal/directories/{directory_id}/setup").text


def test_rotating_without_the_form_token_changes_nothing(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, _ = created(browser)
    refused = browser.post(
        f"/portal/directories/{directory_id}/token",
        data={"csrf": "forged"}, headers={"Origin": ISSUER},
    )  # fmt: skip
    assert refused.status_code == 403
    assert len(world.broker.management.directories.tokens(directory_id)) == 1


def test_creating_without_the_form_token_creates_nothing(world: Gatehouse) -> None:
    browser, org_id = portal(world)
    refused = browser.post(
        "/portal/directories",
        data={"vendor": "okta", "link_key": "email"}, headers={"Origin": ISSUER},
    )  # fmt: skip
    assert refused.status_code == 403
    directories = world.broker.management.directories
    assert directories.page(organization_id=org_id, after=None, limit=10) == []


def test_an_unknown_link_key_is_asked_again(world: Gatehouse) -> None:
    browser, org_id = portal(world)
    answer = create(browser, link_key="<b>nope</b>")
    assert answer.status_code == 422
    assert "Choose how a provisioned person is matched" in answer.text
    assert "<b>nope</b>" not in answer.text
    directories = world.broker.management.directories
    assert directories.page(organization_id=org_id, after=None, limit=10) == []


def test_an_organization_has_a_bounded_number_of_directories(world: Gatehouse) -> None:
    browser, org_id = portal(world)
    for _ in range(MAX_DIRECTORIES):
        world.broker.management.directories.create("t", organization_id=org_id, name="X")
    answer = create(browser)
    assert answer.status_code == 409
    directories = world.broker.management.directories
    assert len(directories.page(organization_id=org_id, after=None, limit=50)) == MAX_DIRECTORIES


# -- the step that waits: what arrived, in the vendor's words ---------------------------------


def test_before_any_request_it_says_to_check_the_url_end(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, _ = created(browser)
    shown = page(browser, directory_id)
    assert "Nothing arrived yet from Okta" in shown
    assert f"<code>/scim/v2/{directory_id}</code>" in shown
    assert "<strong>SCIM connector base URL</strong>" in shown
    # The page asks for the newest request while it waits.
    watch = f'data-test-watch="/portal/directories/{directory_id}/requests/latest"'
    assert watch in shown
    assert browser.get(f"/portal/directories/{directory_id}/requests/latest").json() == {
        "latest": None
    }


def test_a_request_to_another_directory_id_does_not_show(world: Gatehouse) -> None:
    """A wrong URL cannot be attributed: the page keeps saying nothing arrived."""
    browser, _ = portal(world)
    directory_id, token = created(browser)
    wrong = scim(world, "dir_not_this_one", token).post("Users", json=user_body("a@acme.example"))
    assert wrong.status_code == 401
    assert "Nothing arrived yet" in page(browser, directory_id)


def test_a_refused_token_is_diagnosed_in_the_vendors_words(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, _ = created(browser, vendor="entra")
    answer = scim(world, directory_id, "gh_scim_wrong").get("Users")
    assert answer.status_code == 401
    latest = browser.get(f"/portal/directories/{directory_id}/requests/latest").json()["latest"]
    assert latest is not None
    shown = page(browser, directory_id, "entra")
    assert "The token was refused" in shown
    assert "<strong>Secret Token</strong>" in shown
    assert "<strong>Provisioning &gt; Admin Credentials</strong>" in shown
    assert "<code>GET /Users</code>, answered 401" in shown


def test_a_missing_token_says_none_was_sent(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, _ = created(browser, vendor="jumpcloud")
    assert scim(world, directory_id, None).get("Users").status_code == 401
    shown = page(browser, directory_id, "jumpcloud")
    assert "JumpCloud sent no token at all" in shown
    assert "<strong>Token Key</strong>" in shown


def test_a_refused_filter_is_diagnosed(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, token = created(browser)
    refused = scim(world, directory_id, token).get("Users", params={"filter": 'title eq "x"'})
    assert refused.status_code == 400, refused.text
    assert refused.json()["scimType"] == "invalidFilter"
    shown = page(browser, directory_id)
    assert "A search was refused" in shown
    assert "<code>invalidFilter</code>" in shown
    assert "<strong>Attribute Mappings</strong>" in shown


def test_an_attribute_that_cannot_be_mapped_is_diagnosed(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, token = created(browser, vendor="onelogin")
    refused = scim(world, directory_id, token).post(
        "Users", json=user_body("ann@acme.example", emails="not a list")
    )
    assert refused.status_code == 400, refused.text
    shown = page(browser, directory_id, "onelogin")
    assert "An attribute could not be mapped" in shown
    assert "<strong>SCIM JSON Template</strong>" in shown


def test_an_attribute_of_an_unknown_extension_is_diagnosed_in_entras_words(
    world: Gatehouse,
) -> None:
    """Entra sends an attribute an admin mapped to their own extension schema."""
    browser, _ = portal(world)
    directory_id, token = created(browser, vendor="entra")
    extension = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    body = user_body("ann@acme.example", **{extension: {"costCenter": "42"}})
    body["schemas"] = [*body["schemas"], extension]
    refused = scim(world, directory_id, token).post("Users", json=body)
    assert refused.status_code == 400, refused.text
    shown = page(browser, directory_id, "entra")
    assert "An attribute could not be mapped" in shown
    assert (
        "<strong>Provisioning &gt; Mappings &gt; Provision Microsoft Entra ID Users</strong>"
        in (shown)
    )


def test_a_taken_username_is_diagnosed(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, token = created(browser)
    client = scim(world, directory_id, token)
    assert client.post("Users", json=user_body("ann@acme.example")).status_code == 201
    tick(world)
    assert client.post("Users", json=user_body("ANN@acme.example")).status_code == 409
    shown = page(browser, directory_id)
    assert "A user with this userName exists already" in shown
    assert "<code>uniqueness</code>" in shown


def test_a_success_after_refusals_says_it_works_now(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, token = created(browser)
    scim(world, directory_id, "gh_scim_wrong").get("Users")
    tick(world)
    assert scim(world, directory_id, token).post("Users", json=user_body("a@acme.example"))
    shown = page(browser, directory_id)
    assert "✓ Okta reached Gatehouse" in shown
    assert "The token was refused" not in shown


# -- the directory page: counts and the log ----------------------------------------------------


def test_the_page_counts_users_groups_and_deactivated_people(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, token = created(browser)
    client = scim(world, directory_id, token)
    for name in ("ann", "bob", "cy"):
        assert client.post("Users", json=user_body(f"{name}@acme.example")).status_code == 201
        tick(world)
    gone = client.post("Users", json=user_body("dee@acme.example", active=False))
    assert gone.status_code == 201
    tick(world)
    group = {"schemas": [GROUP_SCHEMA], "displayName": "Staff"}
    assert client.post("Groups", json=group).status_code == 201
    shown = page(browser, directory_id)
    counts = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", shown))
    assert counts == {
        "People": "4", "Active": "3", "Deactivated (cannot sign in)": "1", "Groups": "1",
    }  # fmt: skip
    # The log, newest first: the group's creation is also what the diagnosis shows.
    assert shown.count("<code>POST /Users</code>") == 4
    assert shown.count("<code>POST /Groups</code>") == 2
    assert shown.index("<code>POST /Groups</code>") < shown.index("<code>POST /Users</code>")


def test_the_log_is_escaped(world: Gatehouse) -> None:
    browser, _ = portal(world)
    directory_id, token = created(browser)
    hostile = "<script>alert(1)</script>"
    answer = scim(world, directory_id, token).get(f"Users/{hostile}")
    assert answer.status_code == 404
    shown = page(browser, directory_id)
    assert hostile not in shown
    assert html.escape(hostile, quote=False) in shown or "&lt;script&gt;" in shown


def test_another_organizations_directory_is_not_found_anywhere(world: Gatehouse) -> None:
    browser, _ = portal(world)
    rival = world.organization("Rival Inc")
    theirs = world.broker.management.directories.create("t", organization_id=rival.id, name="Ok")
    theirs_id = theirs.directory.id
    token = csrf_token(browser.get("/portal/").text)
    for path in ("", "/setup", "/requests/latest"):
        answer = browser.get(f"/portal/directories/{theirs_id}{path}")
        assert answer.status_code == 404, (path, answer.text)
        assert "Rival" not in answer.text
    rotated = browser.post(
        f"/portal/directories/{theirs_id}/token", data={"csrf": token}, headers={"Origin": ISSUER}
    )
    assert rotated.status_code == 404
    assert len(world.broker.management.directories.tokens(theirs_id)) == 1
    assert theirs.token not in rotated.text
    listed = browser.get("/portal/directories").text
    assert theirs_id not in listed
    assert world.broker.management.directories.get(theirs_id).state is DirectoryState.ACTIVE
