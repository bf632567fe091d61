"""What each dialect puts on the wire, as the server received it: the vendors' quirks are
the point of the simulator, so a "fix" that sends tidier SCIM than Okta or Entra does
fails here."""

from __future__ import annotations

from typing import Any

from idp_simulator.scim.client import ScimClient
from idp_simulator.scim.directory import build_directory
from idp_simulator.scim.scenarios import play
from tests.idp_simulator.scim.conftest import TOKEN, Received, ScimServer

DIRECTORY = build_directory(4, 2, seed="wire")


def played(server: ScimServer, scenario: str, dialect: str) -> list[Received]:
    with ScimClient(server.base_url, TOKEN, concurrency=1) as client:
        summary = play(scenario, client, dialect, DIRECTORY, concurrency=1)
    assert summary.failures == ()
    return server.received


def operations(received: list[Received], method: str, prefix: str) -> list[dict[str, Any]]:
    return [
        op
        for r in received
        if r.method == method and r.path.startswith(prefix)
        for op in r.body["Operations"]
    ]


def test_okta_probes_pages_puts_and_deactivates_with_a_value_object(scim_server):
    received = played(scim_server, "rename", "okta")
    assert received[0].query == "startIndex=1&count=2"
    lookup = f'filter=userName eq "{DIRECTORY.users[0].user_name}"&startIndex=1&count=100'
    assert any(r.query == lookup for r in received)
    create = next(r for r in received if r.method == "POST" and r.path == "/v2/Users")
    assert create.body["groups"] == []
    assert create.body["locale"] == "en-US"
    put = next(r for r in received if r.method == "PUT")
    assert put.body["active"] is True
    assert put.body["name"]["familyName"].endswith("-Renamed")
    assert put.body["emails"][0]["type"] == "work"
    assert not operations(received, "PATCH", "/v2/Users")
    scim_server.recorder.received.clear()
    received = played(scim_server, "leaver", "okta")
    assert operations(received, "PATCH", "/v2/Users") == [
        {"op": "replace", "value": {"active": False}}
    ]


def test_okta_group_members_are_added_on_members_and_removed_by_filter(scim_server):
    received = played(scim_server, "group_churn", "okta")
    created = [r for r in received if r.method == "POST" and r.path == "/v2/Groups"]
    assert all(r.body["members"] == [] for r in created)
    ops = operations(received, "PATCH", "/v2/Groups")
    assert {op["op"] for op in ops} == {"add", "remove"}
    assert all(op["path"] == "members" for op in ops if op["op"] == "add")
    removals = [op for op in ops if op["op"] == "remove"]
    assert removals
    assert all(op["path"].startswith('members[value eq "') and "value" not in op for op in removals)


def test_entra_sends_capitalised_ops_string_booleans_and_value_paths(scim_server):
    received = played(scim_server, "leaver", "entra")
    assert received[0].query.startswith('filter=userName eq "')
    assert received[1].query == "startIndex=1&count=0"
    user = DIRECTORY.users[0]
    assert any(r.query == f'filter=externalId eq "{user.external_id}"' for r in received)
    create = next(r for r in received if r.method == "POST" and r.path == "/v2/Users")
    assert create.body["meta"] == {"resourceType": "User"}
    assert len(create.body["schemas"]) == 2
    assert operations(received, "PATCH", "/v2/Users") == [
        {"op": "Replace", "path": "active", "value": "False"}
    ]
    scim_server.recorder.received.clear()
    received = played(scim_server, "email_change", "entra")
    ops = operations(received, "PATCH", "/v2/Users")
    assert {op.get("path") for op in ops} == {'emails[type eq "work"].value', "userName"}
    assert {op["op"] for op in ops} == {"Replace"}
    scim_server.recorder.received.clear()
    received = played(scim_server, "rename", "entra")
    ops = operations(received, "PATCH", "/v2/Users")
    assert {"op": "Replace", "value": {"displayName": ops[2]["value"]["displayName"]}} in ops
    assert ops[0]["path"] == "name.familyName"


def test_entra_creates_groups_empty_then_adds_and_removes_by_filter(scim_server):
    received = played(scim_server, "group_churn", "entra")
    lookups = [r for r in received if r.method == "GET" and r.path == "/v2/Groups"]
    assert all("excludedAttributes=members" in r.query for r in lookups)
    created = [r for r in received if r.method == "POST" and r.path == "/v2/Groups"]
    assert created
    assert all("members" not in r.body for r in created)
    ops = operations(received, "PATCH", "/v2/Groups")
    assert {op["op"] for op in ops} == {"Add", "Remove"}
    assert all(op["path"] == "members" for op in ops if op["op"] == "Add")
    assert all(op["path"].startswith("members[value eq ") for op in ops if op["op"] == "Remove")
