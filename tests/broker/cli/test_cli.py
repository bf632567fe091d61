"""The operator's CLI against a real SQLite file, as an operator runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.cli import cli
from broker.model.opaque import secret_matches
from broker.settings import Settings
from broker.store.sql import SqlStore, make_engine


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
        "GATEHOUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'gh.sqlite3'}",
        "GATEHOUSE_ISSUER": "http://127.0.0.1:8000",
    }


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def store_for(env: dict[str, str]) -> SqlStore:
    return SqlStore(make_engine(Settings.from_env(env).database.url))


def test_migrate_creates_the_schema_and_keys(env: dict[str, str]) -> None:
    assert "latest schema" in run(env, "migrate")
    keys = json.loads(run(env, "keys", "list", "--json"))["keys"]
    assert sorted(k["state"] for k in keys) == ["current", "next"]
    run(env, "migrate")  # idempotent
    assert len(json.loads(run(env, "keys", "list", "--json"))["keys"]) == 2


def test_clients_create_prints_the_secret_once_and_stores_a_hash(env: dict[str, str]) -> None:
    run(env, "migrate")
    out = json.loads(
        run(
            env,
            "clients",
            "create",
            "--name",
            "Auth0",
            "--redirect-uri",
            "https://tenant.auth0.test/login/callback",
            "--json",
        )
    )
    assert len(out["client_secret"]) >= 43
    with store_for(env).unit_of_work() as uow:
        stored = uow.clients.get(out["client_id"])
    assert stored.secret_hash is not None
    assert stored.secret_hash != out["client_secret"]
    assert secret_matches(out["client_secret"], stored.secret_hash)
    listed = json.loads(run(env, "clients", "list", "--json"))["clients"]
    assert [c["client_id"] for c in listed] == [out["client_id"]]
    assert "client_secret" not in listed[0]


def test_clients_create_with_fixed_credentials(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "migrate")
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("s" * 40 + "\n")
    out = json.loads(
        run(
            env,
            "clients",
            "create",
            "--name",
            "Auth0",
            "--redirect-uri",
            "https://a.test/cb",
            "--client-id",
            "auth0-prod",
            "--client-secret-file",
            str(secret_file),
            "--json",
        )
    )
    assert out["client_id"] == "auth0-prod"
    assert out["client_secret"] is None  # never echoed back when the operator supplied it
    with store_for(env).unit_of_work() as uow:
        stored = uow.clients.get("auth0-prod")
    assert stored.secret_hash is not None
    assert secret_matches("s" * 40, stored.secret_hash)


def test_clients_create_refuses_a_duplicate_id(env: dict[str, str]) -> None:
    run(env, "migrate")
    args = ["clients", "create", "--name", "A", "--redirect-uri", "https://a.test/cb",
            "--client-id", "dup"]  # fmt: skip
    run(env, *args)
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code != 0
    assert "already registered" in result.output


def test_a_client_hears_of_refusals_on_the_page_until_set_to_redirect(
    env: dict[str, str],
) -> None:
    run(env, "migrate")
    args = ["clients", "create", "--name", "A", "--redirect-uri", "https://a.test/cb",
            "--client-id", "rp-a", "--json"]  # fmt: skip
    assert json.loads(run(env, *args))["on_refusal"] == "page"
    changed = run(env, "clients", "update", "rp-a", "--on-refusal", "redirect", "--json")
    assert json.loads(changed) == {"client_id": "rp-a", "on_refusal": "redirect"}
    assert "refusals redirected at once" in run(env, "clients", "list")
    run(env, "clients", "update", "rp-a", "--on-refusal", "redirect")  # no change, no event
    with store_for(env).unit_of_work() as uow:
        assert uow.clients.get("rp-a").on_refusal == "redirect"
        events = uow.audit.list(kind="client.on_refusal_changed")
    assert [(e.actor, e.detail) for e in events] == [
        ("cli", {"client_id": "rp-a", "on_refusal": "redirect"})
    ]
    created = ["clients", "create", "--name", "B", "--redirect-uri", "https://b.test/cb",
               "--on-refusal", "redirect", "--json"]  # fmt: skip
    assert json.loads(run(env, *created))["on_refusal"] == "redirect"
    missing = CliRunner().invoke(
        cli, ["clients", "update", "nope", "--on-refusal", "page"], env=env
    )
    assert missing.exit_code == 1
    assert "no client 'nope'" in missing.output


@pytest.mark.parametrize(
    "uri", ["http://evil.test/cb", "https://a.test/cb#frag", "https://*.a.test/cb", "/relative"]
)
def test_clients_create_refuses_unsafe_redirect_uris(env: dict[str, str], uri: str) -> None:
    run(env, "migrate")
    result = CliRunner().invoke(
        cli, ["clients", "create", "--name", "A", "--redirect-uri", uri], env=env
    )
    assert result.exit_code != 0
    assert "redirect_uri" in result.output


def test_keys_rotate_promotes_the_published_next_key(env: dict[str, str]) -> None:
    run(env, "migrate")
    before = {k["state"]: k["kid"] for k in json.loads(run(env, "keys", "list", "--json"))["keys"]}
    rotated = json.loads(run(env, "keys", "rotate", "--json"))
    assert rotated["current_kid"] == before["next"]
    after = json.loads(run(env, "keys", "list", "--json"))["keys"]
    states = {k["kid"]: k["state"] for k in after}
    assert states[before["current"]] == "retired"
    assert states[before["next"]] == "current"
