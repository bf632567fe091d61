"""Each scenario in each dialect against an independent SCIM server on loopback: the
scenario reports no failure, and the server's own storage holds what the directory meant."""

from __future__ import annotations

import pytest

from idp_simulator.scim.client import ScimClient
from idp_simulator.scim.directory import build_directory
from idp_simulator.scim.scenarios import DIALECTS, play
from tests.idp_simulator.scim.conftest import TOKEN, ScimServer

DIRECTORY = build_directory(12, 3, seed="tests")


def run(server: ScimServer, scenario: str, dialect: str):
    with ScimClient(server.base_url, TOKEN, concurrency=4) as client:
        return play(scenario, client, dialect, DIRECTORY, concurrency=4)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_initial_sync_creates_every_user_group_and_membership(scim_server, dialect):
    summary = run(scim_server, "initial_sync", dialect)
    assert summary.failures == ()
    users = {u["userName"]: u for u in scim_server.users()}
    assert set(users) == {u.user_name for u in DIRECTORY.users}
    for person in DIRECTORY.users:
        stored = users[person.user_name]
        assert stored["externalId"] == person.external_id
        assert stored["active"] is True
        assert stored["name"]["familyName"] == person.family_name
        assert [e["value"] for e in stored["emails"]] == [person.email]
    by_id = {u["id"]: u["userName"] for u in users.values()}
    groups = {g["displayName"]: g for g in scim_server.groups()}
    assert set(groups) == {g.display_name for g in DIRECTORY.groups}
    for group in DIRECTORY.groups:
        members = {by_id[m["value"]] for m in groups[group.display_name].get("members") or []}
        assert members == {DIRECTORY.users[i].user_name for i in group.members}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_second_sync_links_instead_of_creating_again(scim_server, dialect):
    run(scim_server, "initial_sync", dialect)
    again = run(scim_server, "initial_sync", dialect)
    assert again.failures == ()
    assert len(scim_server.users()) == len(DIRECTORY.users)
    assert len(scim_server.groups()) == len(DIRECTORY.groups)
    assert not [e for e in again.exchanges if e.method == "POST"]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_leaver_is_deactivated_not_deleted(scim_server, dialect):
    summary = run(scim_server, "leaver", dialect)
    assert summary.failures == ()
    assert scim_server.user(DIRECTORY.users[0].user_name)["active"] is False
    assert all(scim_server.user(u.user_name)["active"] for u in DIRECTORY.users[1:])
    assert not [e for e in summary.exchanges if e.method == "DELETE"]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_rename_changes_the_family_name(scim_server, dialect):
    summary = run(scim_server, "rename", dialect)
    assert summary.failures == ()
    stored = scim_server.user(DIRECTORY.users[0].user_name)
    assert stored["name"]["familyName"] == DIRECTORY.users[0].family_name + "-Renamed"
    assert stored["active"] is True


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_an_email_change_moves_the_email_and_username(scim_server, dialect):
    summary = run(scim_server, "email_change", dialect)
    assert summary.failures == ()
    old = DIRECTORY.users[0]
    stored = [u for u in scim_server.users() if u["externalId"] == old.external_id]
    assert len(stored) == 1
    assert stored[0]["userName"].startswith("changed.0.")
    assert [e["value"] for e in stored[0]["emails"]] == [stored[0]["userName"]]
    assert stored[0]["active"] is True
    assert len(scim_server.users()) == len(DIRECTORY.users)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_group_churn_removes_and_adds_members(scim_server, dialect):
    summary = run(scim_server, "group_churn", dialect)
    assert summary.failures == ()
    by_id = {u["id"]: u["userName"] for u in scim_server.users()}
    group = next(
        g for g in scim_server.groups() if g["displayName"] == DIRECTORY.groups[0].display_name
    )
    members = {by_id[m["value"]] for m in group.get("members") or []}
    first = [DIRECTORY.users[i].user_name for i in DIRECTORY.groups[0].members]
    second = [DIRECTORY.users[i].user_name for i in DIRECTORY.groups[1].members]
    assert members == set(first[len(first) // 2 :]) | set(second[:3])


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_retried_create_leaves_one_account(scim_server, dialect):
    summary = run(scim_server, "retried_create", dialect)
    assert summary.failures == ()
    newcomers = [u for u in scim_server.users() if u["userName"].startswith("new.")]
    assert len(newcomers) == 2
    posts = [
        e.status for e in summary.exchanges if e.method == "POST" and e.path.endswith("/Users")
    ]
    assert posts[-4:].count(409) == 2


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_mass_deactivation_deactivates_half_and_pages_through_all(scim_server, dialect):
    summary = run(scim_server, "mass_deactivation", dialect)
    assert summary.failures == ()
    inactive = [u for u in scim_server.users() if u["active"] is False]
    assert len(inactive) == 6
    pages = [e for e in summary.exchanges if "startIndex=" in e.path and "count=7" in e.path]
    assert len(pages) == 2


@pytest.mark.parametrize(
    ("scenario", "complaint"),
    [
        ("leaver", "is not shown inactive"),
        ("rename", "familyName is"),
        ("email_change", "the new email is not among"),
        ("group_churn", "members are"),
        ("mass_deactivation", "still shown active"),
    ],
)
def test_a_server_that_answers_yes_and_does_nothing_is_caught(scim_server, scenario, complaint):
    """PATCH (and PUT) answered 204 but never applied: every status is a success, and only
    the read-back shows the change did not happen."""
    run(scim_server, "initial_sync", "entra")
    scim_server.recorder.ignored.update({"PATCH", "PUT"})
    summary = run(scim_server, scenario, "entra" if scenario != "rename" else "okta")
    assert all(200 <= status < 300 for status in summary.statuses)
    assert any(complaint in failure for failure in summary.failures), summary.failures
