"""`gatehouse doctor` on a healthy deployment and on broken ones, each run against real
parts: a SQLite file, the IdP simulator's OpenID Provider served on loopback, a real DNS
server on loopback, and a closed loopback port for an IdP that is down. The lines are
asserted exactly: they are what an operator reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.cli import cli
from broker.store.sql import SqlStore, make_engine
from broker.store.sql.schema import revisions
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import generate
from tests.broker.cli.test_connections import write_metadata
from tests.support.dns_server import dns_server, silent_nameserver
from tests.support.live_server import free_port, serve

ISSUER = "http://127.0.0.1:8000"
SECRET = "cli-test-secret-not-a-real-one"
KEY = "doctor-test-key-0123456789-abcdefghijklmnop"
OTHER_KEY = "doctor-test-key-9876543210-zyxwvutsrqponmlk"
CONFIGURATION = (
    f"warn  configuration: development mode, issuer {ISSUER}: http and loopback IdPs are "
    "allowed; for a deployment set GATEHOUSE_ENV=production"
)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An unmigrated deployment whose DNS resolver (on loopback) knows the probe name."""
    (tmp_path / "var").mkdir()
    with dns_server() as (zone, resolver):
        zone.publish("example.com", "v=spf1 -all")
        yield {
            "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
            "GATEHOUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'gh.sqlite3'}",
            "GATEHOUSE_ISSUER": ISSUER,
            "GATEHOUSE_SECRET_KEY": KEY,
            "GATEHOUSE_DNS_RESOLVER": resolver,
        }


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def doctor(env: dict[str, str], status: int) -> list[str]:
    result = CliRunner().invoke(cli, ["doctor"], env=env, catch_exceptions=False)
    assert result.exit_code == status, result.output
    return result.stdout.splitlines()


def key_lines(env: dict[str, str]) -> str:
    keys = {k["state"]: k for k in json.loads(run(env, "keys", "list", "--json"))["keys"]}
    since = keys["current"]["activated_at"][:10]
    return (
        f"ok    signing keys: current {keys['current']['kid']} (signing since {since}) and "
        f"next {keys['next']['kid']} decrypt with GATEHOUSE_SECRET_KEY; `gatehouse keys "
        "rotate` can switch to the next one at any time"
    )


def database_lines(env: dict[str, str]) -> list[str]:
    return [
        f"ok    database: {env['GATEHOUSE_DATABASE_URL']} answers",
        f"ok    schema: at revision {revisions().head}, this release's latest",
    ]


def dns_line(env: dict[str, str]) -> str:
    return f"ok    dns: {env['GATEHOUSE_DNS_RESOLVER']} answered for example.com"


@contextmanager
def op_issuer() -> Iterator[str]:
    """The simulator's OpenID Provider, served for real on loopback until the block ends."""
    port = free_port()
    config = SimulatorConfig(
        base_url=f"http://127.0.0.1:{port}",
        key_dir=None,
        allowed_acs_prefixes=(ISSUER,),
        oidc_client_id="gatehouse",
        oidc_client_secret=SECRET,
    )
    with serve(create_simulator(config, keys=generate()), port) as base:
        yield f"{base}/oidc"


def create_oidc(env: dict[str, str], org: str, issuer: str, tmp_path: Path) -> str:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    created = run(
        env, "connections", "create-oidc", "--org", org, "--issuer", issuer,
        "--client-id", "gatehouse", "--client-secret-file", str(secret), "--active", "--json",
    )  # fmt: skip
    cid: str = json.loads(created)["id"]
    return cid


def test_a_healthy_deployment_is_all_ok(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "migrate")
    org = run(env, "orgs", "create", "--name", "Example Labs").strip()
    metadata, _ = write_metadata(tmp_path)
    with op_issuer() as issuer:
        oidc = create_oidc(env, org, issuer, tmp_path)
        saml = json.loads(
            run(env, "connections", "create-saml", "--org", org, "--metadata-file",
                str(metadata), "--active", "--json")
        )["id"]  # fmt: skip
        inactive = create_oidc(env, org, issuer, tmp_path)
        run(env, "connections", "deactivate", inactive)
        lines = doctor(env, 0)
    assert lines == [
        CONFIGURATION,
        *database_lines(env),
        key_lines(env),
        dns_line(env),
        f"ok    idp {oidc} ({org}): {issuer}/.well-known/openid-configuration answered",
        f"ok    idp {saml} ({org}): SAML, nothing to fetch: its metadata was read when it "
        "was saved, and browsers, not Gatehouse, reach its SSO URL",
    ]


def test_an_unmigrated_database_fails_the_schema(env: dict[str, str]) -> None:
    assert doctor(env, 1) == [
        CONFIGURATION,
        f"ok    database: {env['GATEHOUSE_DATABASE_URL']} answers",
        "FAIL  schema: no Gatehouse schema: run gatehouse migrate",
        "warn  signing keys: not checked: the schema is not current",
        dns_line(env),
        "warn  idps: not checked: the schema is not current",
    ]


def test_a_wrong_secret_key_fails_the_signing_keys(env: dict[str, str]) -> None:
    run(env, "migrate")
    current = json.loads(run(env, "keys", "list", "--json"))["keys"][0]
    assert current["state"] == "current"
    wrong = {**env, "GATEHOUSE_SECRET_KEY": OTHER_KEY}
    assert doctor(wrong, 1) == [
        CONFIGURATION,
        *database_lines(env),
        f"FAIL  signing keys: the current key {current['kid']} does not decrypt with "
        "GATEHOUSE_SECRET_KEY: set the GATEHOUSE_SECRET_KEY they were encrypted with (the "
        "same on every instance)",
        dns_line(env),
        "ok    idps: no active connection to check",
    ]


def test_an_idp_that_does_not_answer_fails_its_connection(
    env: dict[str, str], tmp_path: Path
) -> None:
    run(env, "migrate")
    org = run(env, "orgs", "create", "--name", "Example Labs").strip()
    with op_issuer() as issuer:
        down = create_oidc(env, org, issuer, tmp_path)
    # The simulator has stopped: its port is closed now.
    with op_issuer() as live:
        up = create_oidc(env, org, live, tmp_path)
        lines = doctor(env, 1)
    assert lines == [
        CONFIGURATION,
        *database_lines(env),
        key_lines(env),
        dns_line(env),
        f"FAIL  idp {down} ({org}): cannot reach {issuer}/.well-known/openid-configuration; its "
        "logins fail until this is fixed: check the IdP (or the connection's settings), or "
        "deactivate the connection",
        f"ok    idp {up} ({org}): {live}/.well-known/openid-configuration answered",
    ]


def test_a_configuration_gatehouse_refuses_is_the_one_finding(env: dict[str, str]) -> None:
    production = {**env, "GATEHOUSE_ENV": "production"}
    [line] = doctor(production, 1)
    assert line.startswith("FAIL  configuration: GATEHOUSE_ISSUER: ")
    assert "https" in line
    assert line.endswith("; Gatehouse refuses to start with it")
    assert doctor({**env, "GATEHOUSE_DNS_RESOLVER": "127.0.0.1:notaport"}, 1) == [
        "FAIL  configuration: GATEHOUSE_DNS_RESOLVER: not a resolver address: "
        "'127.0.0.1:notaport' (host or host:port); Gatehouse refuses to start with it"
    ]


def test_an_unreachable_database_is_named_and_the_rest_not_checked(
    env: dict[str, str], tmp_path: Path
) -> None:
    missing = f"sqlite:///{tmp_path / 'no-such-dir' / 'gh.sqlite3'}"
    lines = doctor({**env, "GATEHOUSE_DATABASE_URL": missing}, 1)
    assert lines == [
        CONFIGURATION,
        f"FAIL  database: cannot connect to the database at {missing}: unable to open "
        "database file; check GATEHOUSE_DATABASE_URL and the server",
        "warn  schema: not checked: the database is unreachable",
        "warn  signing keys: not checked: the database is unreachable",
        dns_line(env),
        "warn  idps: not checked: the database is unreachable",
    ]


def test_a_resolver_that_does_not_answer_fails_and_one_without_public_dns_warns(
    env: dict[str, str],
) -> None:
    run(env, "migrate")
    with silent_nameserver() as silent:
        lines = doctor({**env, "GATEHOUSE_DNS_RESOLVER": silent}, 1)
    assert lines[4] == (
        f"FAIL  dns: {silent} did not answer within 2 s: domains cannot be verified; check "
        "GATEHOUSE_DNS_RESOLVER and that the resolver is reachable from here"
    )
    with dns_server() as (_, empty):
        lines = doctor({**env, "GATEHOUSE_DNS_RESOLVER": empty}, 0)
    assert lines[4] == (
        f"warn  dns: {empty} answered, but knows no TXT record at example.com: domain "
        "verification needs a resolver that sees public DNS (GATEHOUSE_DNS_RESOLVER)"
    )


def test_a_missing_next_key_warns_that_a_rotation_would_fail(env: dict[str, str]) -> None:
    run(env, "migrate")
    keys = {k["state"]: k["kid"] for k in json.loads(run(env, "keys", "list", "--json"))["keys"]}
    store = SqlStore(make_engine(env["GATEHOUSE_DATABASE_URL"]))
    try:
        with store.unit_of_work() as uow:
            uow.keys.delete(keys["next"])
    finally:
        store.engine.dispose()
    assert doctor(env, 0)[3] == (
        f"warn  signing keys: current {keys['current']} can sign, but there is no next key "
        "for `gatehouse keys rotate` to switch to: run gatehouse migrate"
    )
