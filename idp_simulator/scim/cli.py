"""`python -m idp_simulator scim push|scenario ...`: play the directory from a shell.

    python -m idp_simulator scim push --url URL --token-file FILE --dialect okta|entra \\
        [--users N] [--groups M] [--seed S] [--concurrency C] [--requests]
    python -m idp_simulator scim scenario NAME --url URL ... (same options)

The bearer token comes from `--token-file` or the `IDP_SIM_SCIM_TOKEN` environment
variable, never from the command line: argv is readable by every user of the machine
(`ps`) and lands in shell histories. Exit status: 0 when nothing failed, 1 when a request
or a read-back check failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from idp_simulator.scim.client import ScimClient, parse_base_url
from idp_simulator.scim.directory import build_directory
from idp_simulator.scim.scenarios import DIALECTS, SCENARIOS, ScenarioSummary, play

__all__ = ["TOKEN_ENV", "format_summary", "main"]

TOKEN_ENV = "IDP_SIM_SCIM_TOKEN"  # noqa: S105 (a variable name, not a secret)
MAX_USERS = 100_000
MAX_GROUPS = 10_000


def _count(limit: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isascii() or not text.isdigit() or int(text) > limit:
            raise argparse.ArgumentTypeError(f"a whole number from 0 to {limit}")
        return int(text)

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m idp_simulator scim",
        description="Provision a SCIM 2.0 service as Okta or Entra ID would.",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    # No abbreviations: `--token SECRET` must be refused, not read as `--token-file SECRET`.
    push = commands.add_parser(
        "push", help="the initial sync of a generated directory", allow_abbrev=False
    )
    scenario = commands.add_parser(
        "scenario", help="the initial sync, then a named scenario", allow_abbrev=False
    )
    scenario.add_argument("name", choices=sorted(SCENARIOS))
    for command in (push, scenario):
        command.add_argument("--url", required=True, help="the SCIM base URL (…/scim/v2/ID)")
        command.add_argument(
            "--token-file", type=Path, help=f"a file holding the bearer token (or ${TOKEN_ENV})"
        )
        command.add_argument("--dialect", choices=sorted(DIALECTS), default="okta")
        command.add_argument("--users", type=_count(MAX_USERS), default=20)
        command.add_argument("--groups", type=_count(MAX_GROUPS), default=4)
        command.add_argument("--seed", default="gatehouse")
        command.add_argument("--concurrency", type=_count(64), default=8)
        command.add_argument("--requests", action="store_true", help="list every request")
    return parser


def load_token(token_file: Path | None, environ: Mapping[str, str]) -> str:
    """The token from the file (its first line, whitespace stripped) or the environment."""
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the token file: {exc.__class__.__name__}") from None
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
    else:
        token = environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ValueError(f"no bearer token: pass --token-file or set {TOKEN_ENV}")
    if not token.isascii() or not token.isprintable():
        raise ValueError("the bearer token must be printable ASCII")
    return token


def format_summary(summary: ScenarioSummary, *, requests: bool = False) -> str:
    lines = [f"scenario {summary.scenario} ({summary.dialect}): {summary.requests} requests"]
    for phase in summary.phases:
        statuses = ", ".join(f"{status} x{count}" for status, count in phase.statuses.items())
        lines.append(
            f"  {phase.name}: {phase.requests} requests in {phase.seconds:.2f} s "
            f"({phase.per_second:.0f}/s), p50 {phase.p50_ms:.1f} ms, p99 {phase.p99_ms:.1f} ms;"
            f" statuses {statuses or 'none'}"
        )
    failures = summary.failures
    lines.append(f"  failures: {len(failures)}")
    lines.extend(f"    {text}" for text in failures[:50])
    if len(failures) > 50:
        lines.append(f"    … and {len(failures) - 50} more")
    if requests:
        lines.extend(
            f"  {e.method} {e.path} -> {e.status or e.error} ({e.latency_ms:.1f} ms)"
            for e in summary.exchanges
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(list(argv))
    try:
        url = parse_base_url(args.url)
        token = load_token(args.token_file, os.environ if environ is None else environ)
    except ValueError as exc:
        parser.error(str(exc))
    scenario = "initial_sync" if args.command == "push" else args.name
    directory = build_directory(args.users, args.groups, seed=args.seed)
    concurrency = max(1, args.concurrency)
    with ScimClient(url, token, concurrency=concurrency) as client:
        summary = play(scenario, client, args.dialect, directory, concurrency=concurrency)
    sys.stdout.write(format_summary(summary, requests=args.requests))
    return 1 if summary.failures else 0
