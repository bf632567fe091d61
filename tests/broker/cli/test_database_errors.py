"""What an operator sees when `gatehouse` cannot use its database or its settings: one line
on stderr naming what failed (the password masked) and what to do, status 1, no traceback;
and nothing written. Through click's runner for every kind of command, then as real
processes (`python -m broker`, and the ASGI factory under uvicorn), as an operator runs them.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from broker.cli import cli
from broker.store.sql import make_engine
from broker.store.sql.schema import revisions
from tests.support.config import TEST_SECRET_KEY
from tests.support.schema_revisions import UNKNOWN_REVISION, migrate_to, one_behind_head, stamp
from tests.support.unreachable import PASSWORD, masked, postgres_url, refusing_port

REPO_ROOT = Path(__file__).resolve().parents[3]
PROCESS_TIMEOUT_S = 60
SECRET_KEY = base64.urlsafe_b64encode(TEST_SECRET_KEY).decode()
URL_FORMS = "sqlite:///<file> or postgresql+psycopg://<user>:<password>@<host>:<port>/<database>"

#: A command of each kind: the core (keys, clients, purge), the management use cases
#: (orgs), bare units of work (domains, management clients, connections), and the server.
COMMANDS = [
    ["keys", "list"],
    ["clients", "list"],
    ["purge"],
    ["orgs", "list"],
    ["orgs", "create", "--name", "Acme"],
    ["domains", "list"],
    ["connections", "list"],
    ["management-clients", "list"],
    ["serve"],
]


@pytest.fixture
def empty_file(tmp_path: Path) -> Path:
    """What an operator gets by pointing Gatehouse at a new database and forgetting to
    migrate it."""
    path = tmp_path / "gatehouse.sqlite3"
    path.touch()
    return path


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    return {"GATEHOUSE_VAR_DIR": str(tmp_path / "var"), **env}


def refused(env: dict[str, str], *args: str) -> str:
    """The one line a refused command prints on stderr."""
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Error: ")
    return result.stderr.removeprefix("Error: ").removesuffix("\n")


def tables(path: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_refuses_a_database_without_the_schema(
    tmp_path: Path, empty_file: Path, command: list[str]
) -> None:
    env = environment(tmp_path, GATEHOUSE_DATABASE_URL=f"sqlite:///{empty_file}")
    assert refused(env, *command) == (
        f"the database at sqlite:///{empty_file} has no Gatehouse schema: run gatehouse migrate"
    )
    assert tables(empty_file) == []


def test_a_database_behind_the_head_is_told_to_migrate(tmp_path: Path, empty_file: Path) -> None:
    url = f"sqlite:///{empty_file}"
    engine = make_engine(url)
    migrate_to(engine, one_behind_head())
    engine.dispose()
    env = environment(tmp_path, GATEHOUSE_DATABASE_URL=url)
    assert refused(env, "orgs", "list") == (
        f"the database at {url} is at revision {one_behind_head()}, head is "
        f"{revisions().head}: run gatehouse migrate"
    )
    result = CliRunner().invoke(cli, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(cli, ["orgs", "list"], env=env).exit_code == 0


def test_a_database_a_newer_gatehouse_migrated_is_refused(tmp_path: Path, empty_file: Path) -> None:
    url = f"sqlite:///{empty_file}"
    engine = make_engine(url)
    migrate_to(engine, "head")
    stamp(engine, UNKNOWN_REVISION)
    engine.dispose()
    env = environment(tmp_path, GATEHOUSE_DATABASE_URL=url)
    line = (
        f"the database at {url} is at revision {UNKNOWN_REVISION}, unknown to this version of "
        f"Gatehouse (head is {revisions().head}): run the version that migrated it"
    )
    assert refused(env, "keys", "list") == line
    assert refused(env, "migrate") == line  # neither upgraded nor given keys
    assert refused(env, "demo") == line


@pytest.mark.parametrize("command", [["migrate"], ["keys", "list"], ["serve"]], ids=" ".join)
def test_a_refused_connection_is_named_with_the_password_masked(
    tmp_path: Path, command: list[str]
) -> None:
    with refusing_port() as port:
        line = refused(environment(tmp_path, GATEHOUSE_DATABASE_URL=postgres_url(port)), *command)
    assert line == (
        f"cannot connect to the database at {masked(port)}: connection to server at "
        f'"127.0.0.1", port {port} failed: Connection refused'
    )


@pytest.mark.postgres
def test_an_unknown_postgresql_database_is_named(tmp_path: Path, postgres_url: str) -> None:
    url = make_url(postgres_url).set(database="gatehouse_no_such_database", password=PASSWORD)
    env = environment(tmp_path, GATEHOUSE_DATABASE_URL=url.render_as_string(hide_password=False))
    line = refused(env, "migrate")
    assert line.startswith(
        f"cannot connect to the database at {url.render_as_string(hide_password=True)}: "
    )
    assert line.endswith('FATAL: database "gatehouse_no_such_database" does not exist')
    assert PASSWORD not in line


@pytest.mark.parametrize(
    "url",
    ["gatehouse.sqlite3", f"postgresql+psycopg://gatehouse:{PASSWORD}@db:port/gatehouse"],
)
def test_a_malformed_url_names_the_variable(tmp_path: Path, url: str) -> None:
    line = refused(environment(tmp_path, GATEHOUSE_DATABASE_URL=url), "migrate")
    assert line == (
        f"configuration: GATEHOUSE_DATABASE_URL: not a database URL; expected {URL_FORMS}"
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"GATEHOUSE_UPSTREAM_DEADLINE_SECONDS": "abc"},
            "GATEHOUSE_UPSTREAM_DEADLINE_SECONDS: must be a number from 1 to 30",
        ),
        (
            {"GATEHOUSE_ENV": "production", "GATEHOUSE_ISSUER": "https://sso.example.com"},
            "GATEHOUSE_SECRET_KEY: is required in production: URL-safe base64 of at least 32 "
            'bytes; generate one with `python -c "import secrets; '
            'print(secrets.token_urlsafe(32))"`',
        ),
    ],
)
def test_a_setting_that_cannot_work_names_the_variable(
    tmp_path: Path, env: dict[str, str], line: str
) -> None:
    assert refused(environment(tmp_path, **env), "serve") == f"configuration: {line}"


# --- as real processes -----------------------------------------------------------------


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """A child process of this worktree's code, configured only by `env` (plus what the
    interpreter needs), none of the test run's own GATEHOUSE_ variables. It has a secret
    key, as a deployment has: a generated one would be announced on stderr first."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    return subprocess.run(
        [sys.executable, *argv],
        env={**inherited, "GATEHOUSE_SECRET_KEY": SECRET_KEY, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )


def assert_one_line(process: subprocess.CompletedProcess[str], line: str) -> None:
    assert (process.returncode, process.stdout, process.stderr) == (1, "", f"Error: {line}\n")


def test_gatehouse_serve_refuses_an_empty_database(tmp_path: Path, empty_file: Path) -> None:
    env = environment(tmp_path, GATEHOUSE_DATABASE_URL=f"sqlite:///{empty_file}")
    assert_one_line(
        run(env, "-m", "broker", "serve", "--port", "1"),
        f"the database at sqlite:///{empty_file} has no Gatehouse schema: run gatehouse migrate",
    )


def test_the_asgi_factory_refuses_an_empty_database(tmp_path: Path, empty_file: Path) -> None:
    """`uvicorn --factory broker.app:create_app_from_env`, as deployments may run it."""
    env = environment(tmp_path, GATEHOUSE_DATABASE_URL=f"sqlite:///{empty_file}")
    factory = ["-m", "uvicorn", "--factory", "broker.app:create_app_from_env", "--port", "1"]
    assert_one_line(
        run(env, *factory),
        f"the database at sqlite:///{empty_file} has no Gatehouse schema: run gatehouse migrate",
    )


def test_migrate_names_a_refused_connection(tmp_path: Path) -> None:
    with refusing_port() as port:
        process = run(
            environment(tmp_path, GATEHOUSE_DATABASE_URL=postgres_url(port)),
            "-m", "broker", "migrate",
        )  # fmt: skip
    assert_one_line(
        process,
        f"cannot connect to the database at {masked(port)}: connection to server at "
        f'"127.0.0.1", port {port} failed: Connection refused',
    )
    assert PASSWORD not in process.stderr


def test_a_malformed_url_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://gatehouse:{PASSWORD}@db:5432x/gatehouse"
    env = environment(tmp_path, GATEHOUSE_DATABASE_URL=url)
    process = run(env, "-m", "broker", "orgs", "list")
    assert_one_line(
        process, f"configuration: GATEHOUSE_DATABASE_URL: not a database URL; expected {URL_FORMS}"
    )
