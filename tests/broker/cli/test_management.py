"""`gatehouse management-clients` and DNS verification from the command line: the CLI uses
the same use cases and credentials as the management API."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from starlette.testclient import TestClient

from broker.app import create_app
from broker.cli import cli
from broker.management.access import api_audience
from broker.settings import Settings
from tests.broker.cli.test_orgs_domains import create_org, env, refused, run
from tests.support.dns_server import dns_server

__all__ = ["env"]  # the fixture, re-used


def token_status(env: dict[str, str], client_id: str, secret: str) -> int:
    settings = Settings.from_env(env)
    with TestClient(create_app(settings), base_url=settings.issuer) as http:
        response = http.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "audience": api_audience(settings.issuer),
            },
        )
    return int(response.status_code)


def test_a_management_client_is_created_scoped_and_revoked(env: dict[str, str]) -> None:
    created = json.loads(
        run(env, "management-clients", "create", "--name", "Backend",
            "--scope", "organizations:write", "--scope", "domains:write", "--json")
    )  # fmt: skip
    assert created["client_id"].startswith("mc_")
    assert created["scopes"] == ["organizations:write", "domains:write"]
    assert created["audience"] == "http://127.0.0.1:8000/api/v1"
    assert token_status(env, created["client_id"], created["client_secret"]) == 200
    listed = json.loads(run(env, "management-clients", "list", "--json"))["management_clients"]
    assert [(c["client_id"], c["revoked"]) for c in listed] == [(created["client_id"], False)]
    run(env, "management-clients", "revoke", created["client_id"])
    assert token_status(env, created["client_id"], created["client_secret"]) == 401
    assert "(revoked)" in run(env, "management-clients", "list")


def test_an_unknown_scope_is_refused(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli, ["management-clients", "create", "--name", "B", "--scope", "admin"], env=env
    )
    assert result.exit_code == 2
    assert "admin" in result.output


def test_a_fixed_secret_comes_from_a_file_and_is_not_printed(
    env: dict[str, str], tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("x" * 40)
    out = run(env, "management-clients", "create", "--name", "B", "--scope", "events:read",
              "--client-id", "mc_backend", "--client-secret-file", str(secret_file))  # fmt: skip
    assert "x" * 40 not in out
    assert token_status(env, "mc_backend", "x" * 40) == 200
    assert "already registered" in refused(
        env, "management-clients", "create", "--name", "B", "--scope", "events:read",
        "--client-id", "mc_backend",
    )  # fmt: skip


def test_domains_verify_resolves_the_txt_record(env: dict[str, str]) -> None:
    with dns_server() as (zone, nameserver):
        dns_env = {**env, "GATEHOUSE_DNS_RESOLVER": nameserver}
        org = create_org(dns_env, "Acme")
        added = json.loads(run(dns_env, "domains", "add", "--org", org, "acme.test", "--json"))
        record = added["verification"]
        out = refused(dns_env, "domains", "verify", "--org", org, "acme.test")
        assert "record_not_found" in out
        assert record["value"] in out  # tells the operator what to publish
        zone.publish(record["name"], record["value"])
        out = run(dns_env, "domains", "verify", "--org", org, "acme.test")
    assert "verified" in out
    assert "DNS TXT" in out
