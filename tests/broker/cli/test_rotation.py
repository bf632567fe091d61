"""Rotating at the command line, against a real SQLite file: login and management client
secrets, disabling clients, and moving stored secrets to a new GATEHOUSE_SECRET_KEY."""

from __future__ import annotations

import base64
import json
import secrets

from click.testing import CliRunner

from broker.cli import cli
from broker.keys import SecretBox
from broker.keys.manager import signing_key_context
from broker.model.opaque import secret_matches
from broker.store.protocols import EventQuery
from tests.broker.cli.test_cli import env, run, store_for

__all__ = ["env"]  # the fixture, shared with test_cli


def fails(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    return result.output


def new_client(env: dict[str, str]) -> dict[str, str]:
    args = ["--name", "Auth0", "--redirect-uri", "https://tenant.auth0.test/cb", "--json"]
    created: dict[str, str] = json.loads(run(env, "clients", "create", *args))
    return created


def test_clients_rotate_then_revoke_the_previous_secret(env: dict[str, str]) -> None:
    run(env, "migrate")
    created = new_client(env)
    cid = created["client_id"]
    assert "only one secret" in fails(env, "clients", "revoke-secret", cid)
    rotated = json.loads(run(env, "clients", "rotate-secret", cid, "--json"))
    assert set(rotated) == {"client_id", "client_secret"}
    assert rotated["client_id"] == cid
    assert len(rotated["client_secret"]) >= 43
    with store_for(env).unit_of_work() as uow:
        stored = uow.clients.get(cid)
    assert stored.secret_matches(rotated["client_secret"])
    assert stored.secret_matches(created["client_secret"])
    assert [c["secrets"] for c in json.loads(run(env, "clients", "list", "--json"))["clients"]] == [
        2
    ]
    assert "(two secrets)" in run(env, "clients", "list")

    out = run(env, "clients", "revoke-secret", cid)
    assert "previous secret no longer works" in out
    with store_for(env).unit_of_work() as uow:
        stored = uow.clients.get(cid)
    assert stored.secret_matches(rotated["client_secret"])
    assert not stored.secret_matches(created["client_secret"])
    assert "only one secret" in fails(env, "clients", "revoke-secret", cid)
    text = run(env, "clients", "rotate-secret", cid)
    assert "shown once" in text
    assert "revoke-secret" in text


def test_clients_disable_and_enable(env: dict[str, str]) -> None:
    run(env, "migrate")
    cid = new_client(env)["client_id"]
    assert run(env, "clients", "disable", cid).strip() == f"disabled {cid}"
    listed = json.loads(run(env, "clients", "list", "--json"))["clients"]
    assert listed[0]["disabled"] is True
    assert "(disabled)" in run(env, "clients", "list")
    run(env, "clients", "enable", cid)
    assert json.loads(run(env, "clients", "list", "--json"))["clients"][0]["disabled"] is False
    assert "no client 'nobody'" in fails(env, "clients", "disable", "nobody")
    with store_for(env).unit_of_work() as uow:
        events = uow.audit.page(EventQuery(limit=10, kind_prefix="client."))
    assert sorted((e.kind, e.actor) for e in events) == [
        ("client.disabled", "cli"),
        ("client.enabled", "cli"),
    ]


def test_management_clients_rotate_revoke_disable_enable(env: dict[str, str]) -> None:
    run(env, "migrate")
    args = ["--name", "backend", "--scope", "events:read", "--json"]
    created = json.loads(run(env, "management-clients", "create", *args))
    cid = created["client_id"]
    assert "only one secret" in fails(env, "management-clients", "revoke-secret", cid)
    rotated = json.loads(run(env, "management-clients", "rotate-secret", cid, "--json"))
    assert set(rotated) == {"client_id", "client_secret"}
    with store_for(env).unit_of_work() as uow:
        stored = uow.management_clients.get(cid)
    assert stored.secret_matches(rotated["client_secret"])
    assert stored.secret_matches(created["client_secret"])
    listed = json.loads(run(env, "management-clients", "list", "--json"))
    assert listed["management_clients"][0]["secrets"] == 2
    run(env, "management-clients", "revoke-secret", cid)
    with store_for(env).unit_of_work() as uow:
        stored = uow.management_clients.get(cid)
    assert secret_matches(rotated["client_secret"], stored.secret_hash)
    assert not stored.secret_matches(created["client_secret"])

    run(env, "management-clients", "disable", cid)
    assert "(disabled)" in run(env, "management-clients", "list")
    run(env, "management-clients", "enable", cid)
    listed = json.loads(run(env, "management-clients", "list", "--json"))
    assert listed["management_clients"][0]["disabled"] is False
    assert "no management client" in fails(env, "management-clients", "enable", "mc_nobody")
    with store_for(env).unit_of_work() as uow:
        events = uow.audit.page(EventQuery(limit=10, kind_prefix="management_client."))
    assert sorted(e.kind for e in events) == [
        "management_client.disabled",
        "management_client.enabled",
        "management_client.secret_revoked",
        "management_client.secret_rotated",
    ]


def key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def test_secrets_reencrypt_moves_the_signing_keys_to_the_new_key(env: dict[str, str]) -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    run(env | {"GATEHOUSE_SECRET_KEY": key(old)}, "migrate")
    rotated = env | {"GATEHOUSE_SECRET_KEY": key(new), "GATEHOUSE_SECRET_KEYS_OLD": key(old)}
    status = run(rotated, "secrets", "status")
    assert "2 secrets still need a key from GATEHOUSE_SECRET_KEYS_OLD" in status
    done = json.loads(run(rotated, "secrets", "reencrypt", "--json"))
    assert done == {
        "current_key_id": SecretBox(new).current_key_id,
        "reencrypted": 2,
        "still_needing_old_keys": 0,
    }
    with store_for(env).unit_of_work() as uow:
        [event] = uow.audit.page(EventQuery(limit=10, kind="secrets.reencrypted"))
    assert event.actor == "cli"
    assert dict(event.detail) == {
        "key_id": SecretBox(new).current_key_id,
        "reencrypted": 2,
        "still_needing_old_keys": 0,
    }
    again = run(rotated, "secrets", "reencrypt")
    assert "re-encrypted 0 secrets" in again
    assert "nothing still needs an old key: GATEHOUSE_SECRET_KEYS_OLD can be removed" in again
    alone = SecretBox(new)
    with store_for(env).unit_of_work() as uow:
        for record in uow.keys.list():
            pem = alone.decrypt(
                record.private_key_encrypted, context=signing_key_context(record.kid)
            )
            assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    run(env | {"GATEHOUSE_SECRET_KEY": key(new)}, "keys", "rotate")
    with store_for(env).unit_of_work() as uow:  # a run that changed nothing is not an event
        assert len(uow.audit.page(EventQuery(limit=10, kind="secrets.reencrypted"))) == 1


def test_a_malformed_old_key_is_a_configuration_error(env: dict[str, str]) -> None:
    bad = env | {"GATEHOUSE_SECRET_KEY": key(secrets.token_bytes(32))}
    bad["GATEHOUSE_SECRET_KEYS_OLD"] = key(secrets.token_bytes(32)) + ",short"
    result = CliRunner().invoke(cli, ["secrets", "status"], env=bad)
    assert result.exit_code != 0
    assert "GATEHOUSE_SECRET_KEYS_OLD" in result.output
    assert "key 2" in result.output
