"""The simulator page's "Directory (SCIM)" form: runs a scenario against a real SCIM server
on loopback, shows what was sent (escaped), keeps the token server side bound to its URL,
and refuses a form it did not issue."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from idp_simulator.app import create_app
from idp_simulator.config import DEFAULT_ALLOWED_ACS, SimulatorConfig
from tests.idp_simulator.scim.conftest import TOKEN, ScimServer


@pytest.fixture
def page(keys) -> Iterator[TestClient]:
    config = SimulatorConfig(
        base_url="http://127.0.0.1:7000", key_dir=None, allowed_acs_prefixes=DEFAULT_ALLOWED_ACS
    )
    with TestClient(create_app(config, keys=keys), raise_server_exceptions=False) as client:
        yield client


def form_key(html: str) -> str:
    found = re.search(r'name="key" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def submit(page: TestClient, **fields: str):
    key = form_key(page.get("/scim").text)
    return page.post("/scim", data={"key": key, **fields})


def test_the_home_page_has_the_directory_section(page: TestClient):
    home = page.get("/")
    assert home.status_code == 200
    assert "Directory (SCIM)" in home.text
    assert form_key(home.text)


def test_a_run_from_the_page_provisions_and_shows_the_requests(page, scim_server: ScimServer):
    answer = submit(
        page, url=scim_server.base_url, token=TOKEN, dialect="entra", scenario="leaver",
        users="5", groups="2",
    )  # fmt: skip
    assert answer.status_code == 200
    assert "leaver as entra" in answer.text
    assert ", 0 failures" in answer.text
    assert "PATCH /v2/Users/" in answer.text
    assert TOKEN not in answer.text
    users = scim_server.users()
    assert len(users) == 5
    assert sorted(u["active"] for u in users) == [False, True, True, True, True]


def test_the_stored_token_is_reused_for_its_url_only(page, scim_server: ScimServer):
    first = submit(page, url=scim_server.base_url, token=TOKEN, users="2", groups="1")
    assert ", 0 failures" in first.text
    again = submit(page, url=scim_server.base_url + "/", users="3", groups="1")
    assert again.status_code == 200
    assert ", 0 failures" in again.text
    assert len(scim_server.users()) == 3
    elsewhere = submit(page, url="http://127.0.0.1:1/scim/v2/other", users="1", groups="0")
    assert elsewhere.status_code == 400
    assert "enter the bearer token" in elsewhere.text


def test_a_form_the_page_did_not_issue_sends_nothing(page, scim_server: ScimServer):
    fields = {"url": scim_server.base_url, "token": TOKEN, "users": "2", "groups": "0"}
    assert page.post("/scim", data=fields).status_code == 400
    assert page.post("/scim", data={**fields, "key": "forged"}).status_code == 400
    key = form_key(page.get("/scim").text)
    assert page.post("/scim", data={**fields, "key": key}).status_code == 200
    reused = page.post("/scim", data={**fields, "key": key, "users": "4"})
    assert reused.status_code == 400
    assert "already used" in reused.text
    assert len(scim_server.users()) == 2


def test_a_wrong_token_shows_the_refusals_as_failures(page, scim_server: ScimServer):
    answer = submit(page, url=scim_server.base_url, token="not-it", users="2", groups="0")
    assert answer.status_code == 200
    assert ": 401</code>" in answer.text
    assert scim_server.users() == []


def test_hostile_values_are_refused_and_escaped(page):
    answer = submit(page, url="http://x/<script>alert(1)</script>", token="t", users="1")
    assert answer.status_code == 400
    assert "<script>alert(1)" not in answer.text
    assert "&lt;script&gt;" in answer.text
    too_many = submit(page, url="http://127.0.0.1:1/v2", token="t", users="501")
    assert too_many.status_code == 400
    assert "users must be a whole number from 0 to 500" in too_many.text


def test_an_unreachable_target_ends_quickly_with_failures(page):
    answer = submit(page, url="http://127.0.0.1:1/scim/v2", token="t", users="50", groups="5")
    assert answer.status_code == 200
    assert "ConnectError" in answer.text
    assert "not sent: the target stopped answering" in answer.text
