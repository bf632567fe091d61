"""Instructions Gatehouse executes per complete login, counted by valgrind's callgrind:
`make bench-instructions` / `python -m bench.instructions` (issue 18).

Why: CPU time on a shared machine swings by a third from one run to the next (the same
unchanged simulator measured 5.9 to 9.1 ms per login within an hour here), which hides a
change worth 3 %. Instructions do not depend on what else the machine runs: the same code,
inputs and environment give the same count, so one change can be read against another.
They are not time (a cache miss costs more than an add), so `make bench` stays the measure
of speed and this one the measure of a change.

How: the broker starts under `valgrind --tool=callgrind --instr-atstart=no` (uninstrumented
until asked, so it starts in seconds), logs in `--warmup` times per protocol, then
instrumentation is switched on (`callgrind_control -i on`) for `--logins` logins at
concurrency 1 and the counts dumped (`callgrind_control -d`): the dump's total over the
logins is the figure, every thread of the broker included. The broker's background work (the
purge, the jobs' tick, the webhook worker) is off: it runs by the clock, not per login, and
would count more the slower callgrind makes a login. The client and the simulator run
natively. Only user space is counted: the kernel's part of a transaction (the WAL's writes,
the file locks) and of a thread hop is not, so fewer transactions show less here than in
`make bench`.

`--broker-tree DIR` measures another checkout's broker (a git worktree of an older commit)
with this bench, which is how the per-change table in issue 18's note was made; the dumps
can be read with `callgrind_annotate` (`--keep DIR`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.console import say, stop_on_sigterm
from bench.errors import BenchSetupError
from bench.idp_legs import LEGS
from bench.relying_party import IdpLeg, LoginError, VirtualUser, fetch_keys
from bench.servers import BrokerLaunch, running_servers

#: Gatehouse starts in seconds under an uninstrumented callgrind; a loaded machine, slower.
_START_TIMEOUT_S = 300.0
#: The purge, the scheduled jobs' tick and the webhook worker run by the clock, not per
#: login: under callgrind a login takes longer, so they would add more the slower it runs.
_NO_BACKGROUND_WORK = {
    "GATEHOUSE_PURGE_INTERVAL_SECONDS": "0",
    "GATEHOUSE_JOBS_TICK_SECONDS": "0",
    "GATEHOUSE_WEBHOOK_INTERVAL_MS": "0",
}
_TOTALS = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    stop_on_sigterm()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        say("valgrind is not installed (Debian: apt-get install valgrind)")
        return 1
    legs = list(LEGS.values()) if args.protocol == "both" else [LEGS[args.protocol]]
    with tempfile.TemporaryDirectory(prefix="gh-instructions-") as tmp:
        dumps = Path(args.keep or tmp)
        dumps.mkdir(parents=True, exist_ok=True)
        out = dumps / "callgrind.out"
        launch = BrokerLaunch(
            prefix=(
                "valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={out}",
            ),
            cwd=args.broker_tree,
            start_timeout_s=_START_TIMEOUT_S,
        )  # fmt: skip
        try:
            for leg in legs:
                total = _count(leg, launch, Path(tmp) / leg.protocol, dumps, args)
                say(
                    f"{leg.protocol}: {total / args.logins / 1e6:.2f} M instructions per "
                    f"login ({args.logins} logins, concurrency 1)"
                )
        except (BenchSetupError, LoginError) as exc:
            say(f"bench failed: {exc}")
            return 1
    return 0


def _count(
    leg: IdpLeg, launch: BrokerLaunch, var_dir: Path, dumps: Path, args: argparse.Namespace
) -> int:
    """Instructions over `args.logins` logins through `leg`, in a broker of its own: the
    first dump of a process is the one to trust (a second one, after instrumentation was
    switched off and on again, came out negative here)."""
    var_dir.mkdir()
    say(f"{leg.protocol}: starting the broker under callgrind ...")
    with running_servers(var_dir, launch=launch, environment=_NO_BACKGROUND_WORK) as servers:
        keys = fetch_keys(servers)
        pid = servers.broker.pid
        user = VirtualUser(servers, keys, leg)
        try:
            for _ in range(args.warmup):
                user.login()
            _control("-i", "on", pid)
            for _ in range(args.logins):
                user.login()
            _control("-d", pid)
        finally:
            user.close()
    return _dumped_total(dumps)


def _control(*arguments: object) -> None:
    tool = shutil.which("callgrind_control") or "callgrind_control"
    subprocess.run(  # noqa: S603 - valgrind's own control tool, our broker's pid
        [tool, *map(str, arguments)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


def _dumped_total(dumps: Path) -> int:
    """The instruction total of the newest dump (`callgrind.out.N`)."""
    newest = max(dumps.glob("callgrind.out.*"), key=lambda path: path.stat().st_mtime_ns)
    found = _TOTALS.search(newest.read_bytes())
    if found is None:
        raise BenchSetupError(f"no total in {newest}")
    return int(found.group(1))


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions",
        description="Instructions Gatehouse executes per login, counted by callgrind.",
    )
    parser.add_argument("--protocol", choices=(*LEGS, "both"), default="both")
    parser.add_argument("--logins", type=int, default=20, help="counted, per protocol")
    parser.add_argument("--warmup", type=int, default=5, help="uncounted, per protocol")
    parser.add_argument(
        "--broker-tree", type=Path, help="a checkout whose broker to measure (default: this)"
    )
    parser.add_argument("--keep", type=Path, help="keep the callgrind dumps in this directory")
    args = parser.parse_args(argv)
    if args.logins < 1 or args.warmup < 0:
        parser.error("--logins must be positive and --warmup not negative")
    return args


if __name__ == "__main__":
    sys.exit(main())
