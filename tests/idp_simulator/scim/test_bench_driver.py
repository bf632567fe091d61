"""`python -m bench.scim` (the driver of `make bench-scim`), small, against an independent
SCIM server: every phase reported, nothing failed, the server holds the directory, and the
CPU per request is read from /proc for the given process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.process_cpu import cpu_seconds
from bench.scim import main, mixed_updates
from idp_simulator.scim.client import ScimClient
from idp_simulator.scim.directory import build_directory
from idp_simulator.scim.okta import OktaDialect
from idp_simulator.scim.sync import DirectorySync
from tests.idp_simulator.scim.conftest import TOKEN, ScimServer


@pytest.mark.parametrize("dialect", ["okta", "entra"])
def test_the_driver_runs_every_phase(scim_server: ScimServer, tmp_path: Path, capsys, dialect):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    status = main(
        [
            "--url", scim_server.base_url, "--token-file", str(token_file),
            "--dialect", dialect, "--users", "30", "--groups", "3", "--updates", "25",
            "--concurrency", "4", "--cpu-pid", str(os.getpid()),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "30 users, 3 groups, 30 memberships, 25 updates, 4 in flight" in out
    for phase in ("sync: users", "sync: groups", "updates"):
        line = next(line for line in out.splitlines() if line.strip().startswith(phase))
        assert "failures 0" in line
        assert "ms/request" in line
    assert len(scim_server.users()) == 30
    assert sum(len(g.get("members") or []) for g in scim_server.groups()) == 30


def test_mixed_updates_are_deterministic_and_cover_every_kind(scim_server: ScimServer):
    with ScimClient(scim_server.base_url, TOKEN) as client:
        sync = DirectorySync(client, OktaDialect(), build_directory(40, 4))
        sync.sync()
        first = mixed_updates(sync, 20)
        assert first == mixed_updates(sync, 20)
    assert {u.kind for u in first} == {"rename", "email", "deactivate", "reactivate", "move"}
    changed = [u.index for u in first if u.kind != "reactivate"]
    assert len(changed) == len(set(changed))


def test_cpu_seconds_reads_this_process():
    assert cpu_seconds(os.getpid()) > 0
    with pytest.raises(FileNotFoundError):
        cpu_seconds(2**22 + 12345)


def test_directories_are_deterministic_and_unique():
    one, two = build_directory(300, 7, seed="s"), build_directory(300, 7, seed="s")
    assert one == two
    assert build_directory(300, 7, seed="t") != one
    assert len({u.user_name for u in one.users}) == 300
    assert len({u.external_id for u in one.users}) == 300
    assert one.memberships == 300
    assert sorted(i for g in one.groups for i in g.members) == list(range(300))
    with pytest.raises(ValueError, match="negative"):
        build_directory(-1, 0)


@pytest.mark.e2e
def test_without_a_url_it_measures_gatehouse_it_started(capsys):
    """`make bench-scim` as an operator runs it: Gatehouse started on SQLite, an
    organization and a directory created, Entra's quirks sent, Gatehouse's CPU reported."""
    status = main(["--dialect", "entra", "--users", "12", "--groups", "2", "--updates", "10"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "Gatehouse on SQLite" in out
    for phase in ("sync: users", "sync: groups", "updates"):
        line = next(line for line in out.splitlines() if line.strip().startswith(phase))
        assert "failures 0" in line
        assert "server CPU" in line
    assert "initial sync (users and groups):" in out
