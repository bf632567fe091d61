"""`gatehouse directories ...` through the use cases the API calls: the token printed by
create and rotate-token only, the listings never showing one, refusals as messages."""

from __future__ import annotations

import json

from tests.broker.cli.test_orgs_domains import create_org, env, refused, run

__all__ = ["env"]  # the fixture, re-used


def test_the_commands_manage_a_directory(env: dict[str, str]) -> None:
    run(env, "migrate")
    org = create_org(env, "Acme")
    created = json.loads(run(env, "directories", "create", org, "--name", "Okta", "--json"))
    assert created["token"].startswith("gh_scim_")
    directory_id = created["id"]
    [listed] = json.loads(run(env, "directories", "list", "--org", org, "--json"))["items"]
    assert listed == {
        k: v for k, v in created.items() if k not in ("token", "previous_token_expires_at")
    }
    assert created["token"] not in run(env, "directories", "list")
    rotated = json.loads(
        run(env, "directories", "rotate-token", directory_id, "--overlap-hours", "1", "--json")
    )
    assert rotated["token"] != created["token"]
    assert rotated["previous_token_expires_at"] is not None
    assert "revoked 2 token(s)" in run(env, "directories", "revoke", directory_id)
    assert "0 user(s)" in run(env, "directories", "users", directory_id)
    assert json.loads(run(env, "directories", "groups", directory_id, "--json")) == {
        "total": 0,
        "items": [],
    }
    run(env, "directories", "delete", directory_id)
    assert "no directories" in run(env, "directories", "list")


def test_refusals_are_messages_not_crashes(env: dict[str, str]) -> None:
    run(env, "migrate")
    assert "org_nope" in refused(env, "directories", "create", "org_nope", "--name", "x")
    assert "dir_nope" in refused(env, "directories", "users", "dir_nope")
    org = create_org(env, "Acme")
    assert "characters" in refused(env, "directories", "create", org, "--name", " ")
