"""`python -m idp_simulator scim ...` in a real process against a real SCIM server: the
token comes from a file or the environment, never argv; the exit status says whether
anything failed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from idp_simulator.scim.cli import main
from tests.idp_simulator.scim.conftest import TOKEN, ScimServer

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "IDP_SIM_SCIM_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "idp_simulator", "scim", *args],
        cwd=ROOT,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_push_with_a_token_file(scim_server: ScimServer, tmp_path: Path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    done = run(
        "push", "--url", scim_server.base_url, "--token-file", str(token_file),
        "--dialect", "okta", "--users", "6", "--groups", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    assert "scenario initial_sync (okta)" in done.stdout
    assert "failures: 0" in done.stdout
    assert TOKEN not in done.stdout + done.stderr
    assert len(scim_server.users()) == 6
    assert len(scim_server.groups()) == 2


def test_a_scenario_with_the_token_from_the_environment(scim_server: ScimServer):
    done = run(
        "scenario", "email_change", "--url", scim_server.base_url, "--dialect", "entra",
        "--users", "3", "--groups", "1", "--requests",
        env={"IDP_SIM_SCIM_TOKEN": TOKEN},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    assert "email change:" in done.stdout
    assert "PATCH /v2/Users/" in done.stdout


def test_failures_give_status_1(scim_server: ScimServer):
    done = run(
        "push", "--url", scim_server.base_url, "--users", "1", "--groups", "0",
        env={"IDP_SIM_SCIM_TOKEN": "wrong"},
    )  # fmt: skip
    assert done.returncode == 1
    assert ": 401" in done.stdout


def usage_error(capsys, *args: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(list(args), env or {})
    assert stopped.value.code == 2
    return str(capsys.readouterr().err)


def test_no_token_and_bad_arguments_are_usage_errors(tmp_path: Path, capsys):
    token = {"IDP_SIM_SCIM_TOKEN": "t"}
    assert "no bearer token" in usage_error(capsys, "push", "--url", "http://127.0.0.1:1/v2")
    assert "http:// or https://" in usage_error(capsys, "push", "--url", "ftp://x", env=token)
    assert "unrecognized arguments: --token" in usage_error(
        capsys, "push", "--url", "http://x/v2", "--token", "t", env=token
    )
    missing = usage_error(
        capsys, "push", "--url", "http://x/v2", "--token-file", str(tmp_path / "no")
    )
    assert "cannot read the token file" in missing
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "no bearer token" in usage_error(
        capsys, "push", "--url", "http://x/v2", "--token-file", str(empty)
    )
    assert "whole number" in usage_error(
        capsys, "push", "--url", "http://x/v2", "--users", "²", env=token
    )
    assert "invalid choice" in usage_error(capsys, "scenario", "nope", "--url", "http://x/v2")
