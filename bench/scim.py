"""`make bench-scim` (issue 17): the simulator's directory pushed to a SCIM service, as Okta
or Entra ID would, measured phase by phase.

    python -m bench.scim [--dialect okta|entra] [--users 10000] [--groups 500]
                         [--updates 1000] [--concurrency 8] [--seed S]
                         [--database-url postgresql+psycopg://...]       # Gatehouse
                         [--profile FILE]                 # Gatehouse under cProfile
    python -m bench.scim --url URL [--token-file FILE] [--cpu-pid PID]   # any SCIM server

Without `--url`, it starts Gatehouse (uvicorn, one process, as `bench.servers` starts it
for the login bench) on a fresh SQLite file, or on a throwaway schema of `--database-url`,
creates an organization and its directory through the management use cases, and measures
Gatehouse's CPU per request. With `--url`, it only drives: the token comes from
`--token-file` or `IDP_SIM_SCIM_TOKEN`, never argv (`ps` shows argv).

Phases: the initial sync's users (test connection, a lookup then a create each), its
groups (a lookup, a create, member PATCHes: 10,000 memberships for the defaults), then
`--updates` mixed changes (renames, email changes, deactivations, reactivations, group
moves) `--concurrency` at a time, as the vendors keep several requests in flight. For
each: SCIM requests/s, p50/p99 latency, failures, and the server's CPU time (user +
system, from /proc/PID/stat) per request.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.console import say, stop_on_sigterm
from bench.errors import BenchSetupError
from bench.process_cpu import cpu_seconds
from bench.servers import running_servers
from broker.app import build_broker
from idp_simulator.scim.cli import TOKEN_ENV, load_token
from idp_simulator.scim.client import ScimClient, parse_base_url
from idp_simulator.scim.directory import DOMAIN, build_directory
from idp_simulator.scim.scenarios import DIALECTS
from idp_simulator.scim.sync import DirectorySync, Phase, PhaseSummary, run_parallel

__all__ = ["Update", "apply", "main", "mixed_updates"]


@dataclass(frozen=True, slots=True)
class Update:
    kind: str
    """rename, email, deactivate, reactivate or move."""
    index: int
    group: int = 0


def mixed_updates(sync: DirectorySync, count: int) -> list[Update]:
    """`count` changes, deterministic, each on a different person where the directory has
    enough people: a fifth each of renames, email changes, deactivations, reactivations
    (of someone deactivated just before in the list) and moves from one group to another."""
    people = sorted(sync.user_ids)
    groups = sorted(sync.group_ids)
    kinds = ("rename", "email", "deactivate", "reactivate", "move")
    updates: list[Update] = []
    for n in range(count if people else 0):
        kind = kinds[n % 5]
        if kind == "move" and len(groups) < 2:
            kind = "rename"
        step = n - 1 if kind == "reactivate" else n
        index = people[(step * 7) % len(people)]
        updates.append(Update(kind, index, groups[n % len(groups)] if groups else 0))
    return updates


def apply(sync: DirectorySync, update: Update) -> None:
    user = sync.users[update.index]
    if update.kind == "rename":
        sync.update(user.renamed(user.family_name + "-R"))
    elif update.kind == "email":
        sync.update(user.with_email(f"moved.{user.index}.{user.external_id[:8]}@{DOMAIN}"))
    elif update.kind in ("deactivate", "reactivate"):
        sync.set_active(update.index, active=update.kind == "reactivate")
    else:
        _move(sync, update.index, update.group)


def _move(sync: DirectorySync, index: int, to_group: int) -> None:
    user_id = sync.user_ids[index]
    home = index % len(sync.directory.groups)
    if home in sync.group_ids:
        sync.dialect.remove_members(sync.client, sync.group_ids[home], [user_id])
    target = to_group if to_group != home else (home + 1) % len(sync.directory.groups)
    if target in sync.group_ids:
        sync.dialect.add_members(sync.client, sync.group_ids[target], [user_id])


def _line(summary: PhaseSummary, cpu: float | None, own: float) -> str:
    """One phase. The driver's own CPU per request is shown too: on a shared 2-core
    machine the client can be what limits the rate, and this says when."""
    line = (
        f"  {summary.name:<16} {summary.requests:>7} requests in {summary.seconds:7.2f} s: "
        f"{summary.per_second:7.0f} requests/s, p50 {summary.p50_ms:6.1f} ms, "
        f"p99 {summary.p99_ms:6.1f} ms, failures {len(summary.failures)}"
    )
    if summary.requests:
        if cpu is not None:
            line += f", server CPU {cpu * 1000 / summary.requests:.2f} ms/request"
        line += f", driver CPU {own * 1000 / summary.requests:.2f} ms/request"
    return line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.scim", allow_abbrev=False)
    parser.add_argument("--url", help="a SCIM base URL to drive (default: start Gatehouse)")
    parser.add_argument(
        "--database-url", help="Gatehouse on a throwaway schema of this PostgreSQL (default SQLite)"
    )
    parser.add_argument(
        "--token-file", type=Path, help=f"the bearer token's file (or ${TOKEN_ENV})"
    )
    parser.add_argument("--dialect", choices=sorted(DIALECTS), default="okta")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--updates", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cpu-pid", type=int, help="report this process's CPU per request")
    parser.add_argument("--seed", default="bench")
    parser.add_argument(
        "--profile",
        type=Path,
        help="run Gatehouse under cProfile (bench.profiled_broker); its pstats file",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    stop_on_sigterm()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.url is None:
        try:
            with _gatehouse_directory(args.database_url, args.profile) as (url, token, pid, label):
                say(f"Gatehouse on {label}, CPU measured for its process {pid}")
                return _drive(args, url, token, pid)
        except BenchSetupError as exc:
            parser.error(str(exc))
    try:
        url = parse_base_url(args.url)
        token = load_token(args.token_file, os.environ)
        if args.cpu_pid is not None:
            cpu_seconds(args.cpu_pid)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    return _drive(args, url, token, args.cpu_pid)


@contextmanager
def _gatehouse_directory(
    database_url: str | None, profile: Path | None = None
) -> Iterator[tuple[str, str, int, str]]:
    """Gatehouse serving, with an organization and a directory: (SCIM base URL, its token,
    the broker's PID, the database's label). With `profile`, under cProfile (its CPU
    figures then include the profiler's cost: compare them with each other only)."""
    with (
        tempfile.TemporaryDirectory(prefix="gh-bench-scim-") as tmp,
        running_servers(
            Path(tmp),
            database_url=database_url,
            profile_path=profile,
            # CPU time per thread: waits for SQLite's write lock are not what to cut.
            environment={"BENCH_PROFILE_CPU": "1"},
        ) as servers,
    ):
        broker = build_broker(servers.settings)
        try:
            organization = broker.management.organizations.create("bench", name="Bench Corp")
            issued = broker.management.directories.create(
                "bench", organization_id=organization.id, name="Bench directory"
            )
        finally:
            broker.close()
        url = f"{servers.issuer}/scim/v2/{issued.directory.id}"
        yield url, issued.token, servers.broker.pid, servers.database


def _drive(args: argparse.Namespace, url: str, token: str, cpu_pid: int | None) -> int:
    directory = build_directory(args.users, args.groups, seed=args.seed)
    concurrency = max(1, args.concurrency)
    say(
        f"SCIM bench ({args.dialect}): {len(directory.users)} users, {len(directory.groups)}"
        f" groups, {directory.memberships} memberships, {args.updates} updates,"
        f" {concurrency} in flight, to {url}"
    )
    failed = 0
    with ScimClient(url, token, concurrency=concurrency, timeout=60.0) as client:
        sync = DirectorySync(client, DIALECTS[args.dialect](), directory, concurrency=concurrency)
        steps: list[tuple[str, Callable[[Phase], None]]] = [
            ("sync: users", lambda current: _users(sync, current)),
            ("sync: groups", lambda current: sync.push_groups(directory.groups, current)),
            ("updates", lambda _current: _updates(sync, args.updates)),
        ]
        for name, step in steps:
            before = _server_cpu(cpu_pid)
            own_before = time.process_time()
            with sync.phase(name) as current:
                step(current)
            own = time.process_time() - own_before
            after = _server_cpu(cpu_pid)
            cpu = None if before is None or after is None else after - before
            summary = sync.summaries[-1]
            failed += len(summary.failures)
            say(_line(summary, cpu, own))
            for text in summary.failures[:5]:
                say(f"    {text}")
        initial = sum(summary.seconds for summary in sync.summaries[:2])
        say(f"  initial sync (users and groups): {initial:.1f} s")
    return 1 if failed else 0


def _server_cpu(pid: int | None) -> float | None:
    return None if pid is None else cpu_seconds(pid)


def _users(sync: DirectorySync, current: Phase) -> None:
    sync.dialect.probe(sync.client)
    sync.push_users(sync.directory.users, current)


def _updates(sync: DirectorySync, count: int) -> None:
    run_parallel(lambda update: apply(sync, update), mixed_updates(sync, count), sync.concurrency)


if __name__ == "__main__":
    raise SystemExit(main())
