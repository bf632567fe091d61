"""`gatehouse portal-links`: create (the URL once), list (never a URL), revoke, through the
use cases the management API calls, against a real SQLite file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from click.testing import CliRunner

from broker.cli import cli
from broker.model.opaque import hash_secret
from broker.settings import Settings
from broker.store.sql import SqlStore, make_engine
from tests.broker.cli.test_orgs_domains import create_org, env, refused, run

__all__ = ["env"]  # the fixture, re-used


def stored_hashes(env: dict[str, str], org: str) -> list[str]:
    store = SqlStore(make_engine(Settings.from_env(env).database.url))
    try:
        with store.unit_of_work() as uow:
            return [link.token_hash for link in uow.portal_links.page(org, after=None, limit=10)]
    finally:
        store.engine.dispose()


def usage_error(env: dict[str, str], *args: str) -> str:
    """Click's own refusal (status 2) of an option out of range, before any use case."""
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 2, result.output
    return result.output


def test_create_prints_the_url_once_and_list_never_does(env: dict[str, str]) -> None:
    org = create_org(env, "Acme", "cus_1")
    created = json.loads(
        run(env, "portal-links", "create", "cus_1", "--ttl-sec", "600", "--max-uses", "2",
            "--feature", "sso", "--json")
    )  # fmt: skip
    url = created.pop("url")
    assert url.startswith(f"{env['GATEHOUSE_ISSUER']}/portal/link/")
    token = url.rsplit("/", 1)[1]
    assert stored_hashes(env, org) == [hash_secret(token)]  # only the hash rests
    assert created["enabled_features"] == ["sso"]
    assert (created["max_uses"], created["uses"], created["status"]) == (2, 0, "active")
    assert (created["profile_id"], created["connection_id"], created["revoked_at"]) == (
        None,
        None,
        None,
    )
    assert created["created_by"] == "cli"
    lifetime = datetime.fromisoformat(created["expires_at"]) - datetime.fromisoformat(
        created["created_at"]
    )
    assert lifetime == timedelta(seconds=600)
    listed = json.loads(run(env, "portal-links", "list", org, "--json"))["items"]
    assert listed == [created]
    text = run(env, "portal-links", "list", "cus_1")
    assert created["id"] in text
    assert "active  0/2 uses" in text
    assert token not in text


def test_create_in_text_shows_the_url_first(env: dict[str, str]) -> None:
    org = create_org(env, "Acme")
    lines = run(env, "portal-links", "create", org).splitlines()
    assert lines[0].startswith(f"{env['GATEHOUSE_ISSUER']}/portal/link/")
    assert "sso, domain_verification; up to 5 uses" in lines[2]
    assert "shown only this once" in lines[3]


def test_revoke_is_idempotent_and_shows_in_the_list(env: dict[str, str]) -> None:
    org = create_org(env, "Acme")
    link = json.loads(run(env, "portal-links", "create", org, "--json"))["id"]
    assert run(env, "portal-links", "revoke", org, link) == f"revoked {link}\n"
    revoked = json.loads(run(env, "portal-links", "revoke", org, link, "--json"))
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"] is not None
    assert "url" not in revoked
    [listed] = json.loads(run(env, "portal-links", "list", org, "--json"))["items"]
    assert listed == revoked


def test_directory_sync_is_a_feature_the_cli_grants_only_when_named(env: dict[str, str]) -> None:
    acme = create_org(env, "Acme")
    default = json.loads(run(env, "portal-links", "create", acme, "--json"))
    assert default["enabled_features"] == ["sso", "domain_verification"]
    named = json.loads(
        run(env, "portal-links", "create", acme, "--feature", "directory_sync", "--json")
    )
    assert named["enabled_features"] == ["directory_sync"]


def test_refusals_are_one_line(env: dict[str, str]) -> None:
    acme, other = create_org(env, "Acme"), create_org(env, "Other")
    link = json.loads(run(env, "portal-links", "create", acme, "--json"))["id"]
    # Another organization's link is "not found", as an absent one.
    assert f"portal link {link}" in refused(env, "portal-links", "revoke", other, link)
    assert "no organization" in refused(env, "portal-links", "list", "org_nobody")
    out = refused(env, "portal-links", "create", acme, "--connection", "con_nobody")
    assert "connection con_nobody" in out
    out = refused(env, "portal-links", "create", acme, "--connection", "con_x",
                  "--feature", "domain_verification")  # fmt: skip
    assert "an edit link must enable sso" in out
    out = usage_error(env, "portal-links", "create", acme, "--ttl-sec", "60")
    assert "--ttl-sec" in out
    assert json.loads(run(env, "portal-links", "list", acme, "--json"))["items"][0]["id"] == link
    assert json.loads(run(env, "portal-links", "list", other, "--json")) == {"items": []}
    assert run(env, "portal-links", "list", other) == "no portal links\n"
