"""`gatehouse connections create-oidc`: the IdP's discovery document is fetched and checked
before anything is stored; the command prints the redirect URI the IdP admin registers, and
the secret is read from a file, never from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.cli import cli
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import generate
from tests.broker.cli.test_orgs_domains import create_org, env, refused, run
from tests.support.live_server import free_port, serve

__all__ = ["env"]  # the fixture, re-used

ISSUER = "http://127.0.0.1:8000"
SECRET = "cli-test-secret-not-a-real-one"


@pytest.fixture
def op_issuer() -> Iterator[str]:
    """The simulator's OpenID Provider, served for real on loopback."""
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


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")
    return path


def test_create_oidc_prints_the_redirect_uri(
    env: dict[str, str], op_issuer: str, secret_file: Path
) -> None:
    org = create_org(env, "Example Labs", "labs")
    out = json.loads(
        run(env, "connections", "create-oidc", "--org", "labs", "--issuer", op_issuer,
            "--client-id", "gatehouse", "--client-secret-file", str(secret_file), "--json")
    )  # fmt: skip
    cid = out["id"]
    assert out["organization_id"] == org
    assert out["redirect_uri"] == f"{ISSUER}/oidc/{cid}/callback"
    assert out["warnings"] == []
    listed = json.loads(run(env, "connections", "list", "--json"))["connections"]
    assert [(c["id"], c["kind"], c["callback_url"]) for c in listed] == [
        (cid, "oidc", out["redirect_uri"])
    ]
    database = Path(env["GATEHOUSE_DATABASE_URL"].removeprefix("sqlite:///")).read_bytes()
    assert SECRET.encode() not in database  # stored encrypted


def test_create_oidc_with_private_key_jwt_prints_the_key_url(
    env: dict[str, str], op_issuer: str
) -> None:
    create_org(env, "Example Labs", "labs")
    text = run(
        env, "connections", "create-oidc", "--org", "labs", "--issuer", op_issuer,
        "--client-id", "gatehouse", "--private-key-jwt",
    )  # fmt: skip
    assert "Redirect URI" in text
    assert "/jwks.json" in text
    assert any("private_key_jwt" in line for line in text.splitlines() if "warning" in line)


def test_an_issuer_whose_discovery_names_another_issuer_is_refused(
    env: dict[str, str], op_issuer: str, secret_file: Path
) -> None:
    create_org(env, "Example Labs", "labs")
    out = refused(
        env, "connections", "create-oidc", "--org", "labs", "--issuer", op_issuer + "/",
        "--client-id", "gatehouse", "--client-secret-file", str(secret_file),
    )  # fmt: skip
    assert "issuer" in out
    assert json.loads(run(env, "connections", "list", "--json"))["connections"] == []


def test_an_unreachable_issuer_is_refused_without_storing(
    env: dict[str, str], secret_file: Path
) -> None:
    create_org(env, "Example Labs", "labs")
    out = refused(
        env, "connections", "create-oidc", "--org", "labs",
        "--issuer", f"http://127.0.0.1:{free_port()}/oidc",
        "--client-id", "gatehouse", "--client-secret-file", str(secret_file),
    )  # fmt: skip
    assert "discovery document" in out
    assert json.loads(run(env, "connections", "list", "--json"))["connections"] == []


def test_a_secret_or_a_key_but_not_both_nor_neither(
    env: dict[str, str], secret_file: Path, tmp_path: Path
) -> None:
    create_org(env, "Example Labs", "labs")
    base = ["connections", "create-oidc", "--org", "labs", "--issuer", "https://op.test",
            "--client-id", "x"]  # fmt: skip
    for extra in ([], ["--client-secret-file", str(secret_file), "--private-key-jwt"]):
        result = CliRunner().invoke(cli, [*base, *extra], env=env)
        assert result.exit_code == 2, result.output
        assert "exactly one" in result.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    result = CliRunner().invoke(cli, [*base, "--client-secret-file", str(empty)], env=env)
    assert result.exit_code == 2
    assert "empty" in result.output
