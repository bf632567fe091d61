"""Complete logins over real HTTP, timed, per upstream protocol: `make bench` /
`python -m bench.logins`.

One login is everything a relying party and a browser do (`bench.relying_party`), with the
IdP leg of the chosen protocol in the middle (`bench.idp_legs`): SAML through Example Corp's
connection (alice@example.com), OIDC through Example Labs' (alice@example.org), both to the
IdP simulator. Each virtual user is a thread with its own `httpx.Client`, so its own cookies,
as separate browsers have.

The figures, per protocol and concurrency (issue 18, items 1 and 2):
- logins/s and whole-login latency percentiles, and the CPU the broker process (utime +
  stime from /proc, every thread of it) spent per login, from a free-running pass;
- Gatehouse's CPU per endpoint (authorize, IdP return, token, userinfo), from a second pass
  in lockstep phases (`bench.endpoints` says why that way);
- the floor (`bench.floor`: RS256 sign, xmlsec verify of the simulator's response, the SQL
  a login must run), measured in this process in the same run, and Gatehouse ÷ floor;
- what the stack itself costs a login (`bench.stack_cost`: requests, thread hops and empty
  transactions through the broker's own stack), the part of the distance to the floor that
  is not Gatehouse's code;
- on PostgreSQL, the CPU of the backends serving Gatehouse per login (`bench.postgres_cpu`);
- with `--https-idp`, the same rows again against the simulator over TLS (`bench.tls_idp`);
- with `--workers N...` (issue 18, item 5), every row again per number of uvicorn workers
  of the broker, and how logins/s grow from the first number to the others. The broker's
  CPU is then its whole process tree (the supervisor and every worker); whether the
  workers, the simulator and the client each have a core of their own is printed, and when
  the machine has enough CPUs they are pinned so (`cpu_placement`).
The simulator's CPU is shown separately for context (for OIDC it includes the token
endpoint Gatehouse calls); the client's own work is in neither. Nothing here asserts a time:
it reports.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import os
import platform
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import KeySet

from bench import endpoints, floor, stack_cost
from bench.console import say, stop_on_sigterm
from bench.errors import BenchSetupError
from bench.idp_legs import LEGS
from bench.login_report import Row, growth, side_by_side, table
from bench.postgres_cpu import BackendCpu, Sampling
from bench.process_cpu import TreeCpu, cpu_seconds, pin_tree, process_tree
from bench.profiled_broker import print_profile
from bench.relying_party import IdpLeg, LoginError, VirtualUser, fetch_keys
from bench.servers import Servers, running_servers, worker_pids

DEFAULT_LOGINS = 200
DEFAULT_WARMUP = 20
DEFAULT_CONCURRENCY = (1, 8)
PROTOCOL_CHOICES = (*LEGS, "both")


# -- runs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    protocol: str
    concurrency: int
    logins: int
    wall_s: float
    latencies_ms: tuple[float, ...]
    broker_cpu_s: float
    simulator_cpu_s: float
    #: CPU of the PostgreSQL backends serving Gatehouse (None: not on PostgreSQL).
    postgres_cpu_s: float | None = None

    @property
    def per_second(self) -> float:
        return self.logins / self.wall_s

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the login latencies, in ms."""
        ordered = sorted(self.latencies_ms)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]


def run(
    servers: Servers,
    keys: KeySet,
    leg: IdpLeg,
    *,
    concurrency: int,
    logins: int,
    postgres: BackendCpu | None = None,
) -> RunResult:
    """`logins` logins over `leg` shared among `concurrency` threads, each a virtual user;
    with `postgres`, the CPU of the backends serving Gatehouse is read too."""
    users = [VirtualUser(servers, keys, leg) for _ in range(concurrency)]
    tickets = itertools.count()
    tickets_lock = threading.Lock()
    latencies: list[float] = []
    failures: list[BaseException] = []
    results_lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def work(user: VirtualUser) -> None:
        start.wait()
        while True:
            with tickets_lock:
                if next(tickets) >= logins or failures:
                    return
            began = time.perf_counter()
            try:
                user.login()
            except Exception as exc:
                with results_lock:
                    failures.append(exc)
                return
            elapsed_ms = (time.perf_counter() - began) * 1000
            with results_lock:
                latencies.append(elapsed_ms)

    threads = [threading.Thread(target=work, args=(user,), daemon=True) for user in users]
    try:
        for thread in threads:
            thread.start()
        sampling = Sampling(postgres) if postgres else None
        broker_tree = TreeCpu(servers.broker.pid)  # with workers, the supervisor and all
        broker_before = broker_tree.read_s()
        simulator_before = cpu_seconds(servers.simulator.pid)
        with sampling or contextlib.nullcontext():
            began = time.perf_counter()
            start.wait()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - began
        broker_cpu = broker_tree.read_s() - broker_before
        simulator_cpu = cpu_seconds(servers.simulator.pid) - simulator_before
        postgres_cpu = sampling.spent_ns() / 1e9 if sampling else None
    finally:
        for user in users:
            user.close()
    if failures:
        raise LoginError(f"{leg.protocol}: {len(failures)} login(s) failed; first: {failures[0]!r}")
    return RunResult(
        protocol=leg.protocol,
        concurrency=concurrency,
        logins=len(latencies),
        wall_s=wall,
        latencies_ms=tuple(latencies),
        broker_cpu_s=broker_cpu,
        simulator_cpu_s=simulator_cpu,
        postgres_cpu_s=postgres_cpu,
    )


# -- command line -----------------------------------------------------------------------


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.logins",
        description="Complete logins over real HTTP against Gatehouse and the IdP simulator "
        "(each started here as its own process), through a SAML and/or an OIDC upstream.",
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOL_CHOICES,
        default="both",
        help="upstream to log in through: saml (Example Corp), oidc (Example Labs), or both "
        "one after the other in the same run (default)",
    )
    parser.add_argument(
        "--logins", type=int, default=DEFAULT_LOGINS, help="per protocol and concurrency"
    )
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="per protocol")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=list(DEFAULT_CONCURRENCY), metavar="N"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL to bench on, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test "
        "(a fresh schema, dropped afterwards); default: a SQLite file in a temporary dir",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="run the broker under cProfile (bench.profiled_broker), write pstats to FILE "
        "and print the top entries; CPU figures are then inflated by the profiler",
    )
    parser.add_argument("--top", type=int, default=30, help="profile entries to print")
    parser.add_argument(
        "--https-idp",
        action="store_true",
        help="also run every protocol against the simulator over TLS (a test CA made at "
        "start, trusted by Gatehouse through GATEHOUSE_UPSTREAM_CA_FILE): rows marked +tls",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        metavar="N",
        help="run everything once per N: the broker as uvicorn --workers N (default: 1, one "
        "process); rows carry N, and logins/s with each N over the first N is printed",
    )
    parser.add_argument(
        "--floor-iterations",
        type=int,
        default=500,
        help="iterations of each item of the floor (RS256 sign, xmlsec verify, SQL) and of "
        "the stack's cost (request, thread hop, empty transaction)",
    )
    args = parser.parse_args(argv)
    if args.logins < 1 or args.warmup < 0 or min(args.concurrency) < 1 or args.floor_iterations < 1:
        parser.error("--logins and --concurrency must be positive, --warmup not negative")
    #: Pinned only when worker counts are compared (`--workers` given): the default run is
    #: the one process, unpinned, as before.
    args.pin = args.workers is not None
    args.workers = args.workers or [1]
    if min(args.workers) < 1:
        parser.error("--workers must be positive")
    if args.profile and max(args.workers) > 1:
        parser.error("--profile runs the broker as one process: not with --workers above 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    stop_on_sigterm()
    profile = args.profile.resolve() if args.profile else None
    legs = list(LEGS.values()) if args.protocol == "both" else [LEGS[args.protocol]]
    rows: list[Row] = []
    try:
        for https_idp in (False, True) if args.https_idp else (False,):
            for workers in args.workers:
                rows.extend(_bench(args, legs, profile, https_idp=https_idp, workers=workers))
    except (BenchSetupError, LoginError) as exc:
        say(f"bench failed: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted; every process stopped.")
        return 130
    rows = side_by_side(rows, args.concurrency, args.workers)
    say()
    say(table(rows))
    if len(set(args.workers)) > 1:
        say()
        for line in growth(rows, args.workers):
            say(line)
    if profile is not None:
        say(f"\nbroker profile written to {profile} (all threads, including warm-up)")
        print_profile(profile, args.top)
    return 0


def cpu_placement(cpus: Sequence[int], workers: int, most: int) -> tuple[set[int], set[int]] | None:
    """(the broker's CPUs, the simulator's and client's) when the machine (`cpus`, the ones
    this process may use) has a core for each of `workers` and two more for the simulator
    and the client: the broker on the first `workers`, the others on the ones after the
    first `most` (the largest worker count of the run, so every run's simulator and client
    have the same cores); None when it has not."""
    ordered = sorted(cpus)
    if len(ordered) < most + 2:
        return None
    return set(ordered[:workers]), set(ordered[most:])


@contextmanager
def _placed(servers: Servers, args: argparse.Namespace) -> Iterator[None]:
    """Says where the processes run; pins them when `cpu_placement` allows (and worker
    counts are being compared), restoring this process's CPUs after."""
    workers = servers.workers
    cpus = sorted(os.sched_getaffinity(0))
    placement = cpu_placement(cpus, workers, max(args.workers)) if args.pin else None
    processes = f"{workers} broker worker(s) + simulator + client = {workers + 2} processes"
    if workers + 2 > len(cpus):
        say(f"{len(cpus)} CPUs, {processes}: the figures share cores (not pinned)")
    elif placement is None:
        say(f"{len(cpus)} CPUs, {processes}: not pinned")
    else:
        broker_cpus, others = placement
        say(
            f"{len(cpus)} CPUs, {processes}: broker pinned to CPUs {sorted(broker_cpus)}, "
            f"simulator and client to {sorted(others)}"
        )
    if placement is None:
        yield
        return
    broker_cpus, others = placement
    pin_tree(servers.broker.pid, broker_cpus)
    pin_tree(servers.simulator.pid, others)
    pin_tree(os.getpid(), others)
    try:
        yield
    finally:
        pin_tree(os.getpid(), set(cpus))


def _bench(
    args: argparse.Namespace,
    legs: list[IdpLeg],
    profile: Path | None,
    *,
    https_idp: bool,
    workers: int = 1,
) -> list[Row]:
    """Every protocol and concurrency against one set of servers (the simulator over TLS
    with `https_idp`, the broker with `workers` uvicorn workers): free-running pass,
    lockstep pass, then the floor."""
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="gatehouse-bench-") as tmp,
        running_servers(
            Path(tmp),
            database_url=args.database_url,
            profile_path=profile,
            https_idp=https_idp,
            workers=workers,
        ) as servers,
        _placed(servers, args),
    ):
        broker = f"pid {servers.broker.pid}"
        if workers > 1:
            broker += f", {workers} workers: pids {worker_pids(servers.broker.pid)}"
            broker += f", {len(process_tree(servers.broker.pid))} processes in its tree"
        say(
            f"Gatehouse {servers.issuer} ({broker}), simulator "
            f"{servers.simulator_url} (pid {servers.simulator.pid})"
        )
        say(
            f"database: {servers.database}; {os.cpu_count()} CPUs; "
            f"Python {platform.python_version()}" + ("; broker under cProfile" if profile else "")
        )
        postgres = _postgres(args.database_url, servers)
        keys = fetch_keys(servers)
        try:
            for leg in legs:
                label = f"{leg.protocol}+tls" if https_idp else leg.protocol
                if workers > 1:
                    say(f"{label}: broker with {workers} workers")
                if args.warmup:
                    say(f"{label}: warm-up: {args.warmup} logins ...")
                    run(servers, keys, leg, concurrency=1, logins=args.warmup)
                measured = []
                saml_response = None
                for concurrency in args.concurrency:
                    say(f"{label}: {args.logins} logins at concurrency {concurrency} ...")
                    result = run(
                        servers, keys, leg, concurrency=concurrency, logins=args.logins,
                        postgres=postgres,
                    )  # fmt: skip
                    say(f"{label}: the same in lockstep phases, CPU per endpoint ...")
                    per_endpoint = endpoints.measure(
                        servers, keys, leg, concurrency=concurrency, logins=args.logins
                    )
                    saml_response = saml_response or per_endpoint.saml_response
                    measured.append((result, per_endpoint))
                say(f"{label}: the floor, {args.floor_iterations} iterations per item ...")
                login_floor = floor.measure(
                    leg.protocol,
                    database_url=servers.database_url,
                    var_dir=Path(tmp),
                    saml_response=saml_response,
                    iterations=args.floor_iterations,
                )
                say(f"{label}: floor {login_floor.describe()}")
                stack = stack_cost.measure(
                    servers, var_dir=Path(tmp), iterations=args.floor_iterations
                )
                say(f"{label}: {stack.describe(leg.protocol)}")
                rows.extend(Row(label, r, e, login_floor, workers) for r, e in measured)
        finally:
            if postgres is not None:
                postgres.close()
    return rows


def _postgres(database_url: str | None, servers: Servers) -> BackendCpu | None:
    """The reader of PostgreSQL's CPU, when on PostgreSQL and its backends are visible."""
    if database_url is None or servers.application_name is None:
        return None
    reader = BackendCpu(database_url, servers.application_name)
    if reader.readable():
        return reader
    say("PostgreSQL's backends are not visible in this machine's /proc: no PostgreSQL CPU")
    reader.close()
    return None


if __name__ == "__main__":
    raise SystemExit(main())
