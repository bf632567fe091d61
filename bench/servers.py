"""The processes a benchmark runs against: the IdP simulator and the broker, each its own
process on a free loopback port, over a fresh database, seeded like `make run` seeds the demo
(Example Corp on the simulator's SAML IdP, Example Labs on its OpenID Provider).

Every process started here is stopped by its PID when the `Servers` block ends, also on
Ctrl-C (KeyboardInterrupt unwinds through the `with`) and on SIGTERM (turned into SystemExit
by `main`). With `workers` > 1 the broker is uvicorn's supervisor and its worker processes;
the supervisor stops them, and any it leaves behind are killed by their PIDs.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.databases import fresh_database
from bench.errors import BenchSetupError
from bench.process_cpu import ThreadCpu, process_tree, start_time
from bench.tls_idp import make_test_ca
from broker.demo import seed_demo, seed_simulator_organizations, simulator_environment
from broker.metrics.exposition import MULTIPROCESS_VARIABLE
from broker.metrics.workers import shared_by_workers
from broker.settings import Settings
from broker.settings_rate_limits import RATE_LIMIT_VARIABLES

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
# A broker's process tree is "settled" (every worker done starting) when it spends less than
# this CPU over one poll (uvicorn's loops tick every 0.1 s, the supervisor pings each worker
# every 0.5 s: microseconds each).
_SETTLE_POLL_S = 0.25
_SETTLED_NS = 10_000_000
# Where the relying party "lives": nothing listens there, the benchmark reads the code from
# the redirect's Location instead of following it.
_RP_CALLBACK_PATH = "/callback"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Process:
    """A child process, its log file, and its PID for CPU accounting."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to this PID, then SIGKILL if it has not exited in time. Its descendants
        (uvicorn's workers, multiprocessing's resource tracker) are stopped by it; any still
        there a moment after it exited (the same PID and start time) get SIGKILL."""
        if self.popen.poll() is not None:
            return
        descendants = [(pid, start_time(pid)) for pid in process_tree(self.pid)[1:]]
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=_STOP_TIMEOUT_S)
        deadline = time.monotonic() + 2.0
        left = descendants
        while left:
            left = [(pid, began) for pid, began in left if began and start_time(pid) == began]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for pid, _began in left:
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True)
class Servers:
    """What a virtual user needs to log in, and the processes to measure."""

    issuer: str
    simulator_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    database: str
    broker: Process
    simulator: Process
    #: The seeded connections by kind: "saml" (Example Corp), "oidc" (Example Labs).
    connection_ids: Mapping[str, str]
    #: The broker's settings, for seeding more organizations into its database.
    settings: Settings
    #: The URL every process opens (SQLite file, or PostgreSQL with the bench's schema).
    database_url: str = ""
    #: PostgreSQL's `application_name` of the broker's connections (None on SQLite).
    application_name: str | None = None
    #: The test CA the simulator's certificate comes from (None: the simulator is http).
    ca_file: Path | None = None
    #: uvicorn worker processes of the broker (1: the broker is one process, no supervisor).
    workers: int = 1


@dataclass(frozen=True)
class BrokerLaunch:
    """How the broker process is started, for a tool that measures it from outside."""

    #: Put before the broker's command (e.g. `valgrind --tool=callgrind ...`).
    prefix: tuple[str, ...] = ()
    #: The directory it runs in: `python -m uvicorn` imports `broker` from there first, so
    #: another checkout's broker can be measured with this bench.
    cwd: Path | None = None
    start_timeout_s: float = _START_TIMEOUT_S


@contextmanager
def running_servers(
    var_dir: Path,
    *,
    database_url: str | None = None,
    profile_path: Path | None = None,
    environment: Mapping[str, str] | None = None,
    https_idp: bool = False,
    workers: int = 1,
    launch: BrokerLaunch | None = None,
) -> Iterator[Servers]:
    """Start the simulator and the broker over a fresh database under `var_dir`.

    `launch`: the broker's command under a tool (`bench.instructions` runs it under
    callgrind), from another checkout's directory, with more time to start.

    `database_url` (PostgreSQL) gets a new schema, migrated, and dropped at the end; without
    it the database is a SQLite file in `var_dir`. With `profile_path` the broker runs under
    cProfile (`bench.profiled_broker`) and writes its statistics there when it stops.
    `environment` adds to the broker's (`GATEHOUSE_UPSTREAM_*` for the isolation bench).
    With `https_idp` the simulator is served over TLS with a certificate from a test CA made
    here (`bench.tls_idp`), which Gatehouse trusts through `GATEHOUSE_UPSTREAM_CA_FILE`.
    With `workers` > 1 the broker is `uvicorn --workers N`, its metrics shared by the workers
    as `gatehouse serve --workers` shares them (`shared_by_workers`: a fresh
    PROMETHEUS_MULTIPROC_DIR before the workers start), and the block is entered once every
    worker has started (`wait_until_settled`).
    """
    if workers > 1 and profile_path is not None:
        raise BenchSetupError("the profiled broker is one process: no workers with a profile")
    with ExitStack() as stack:
        broker_port, simulator_port = free_port(), free_port()
        issuer = f"http://127.0.0.1:{broker_port}"
        scheme = "https" if https_idp else "http"
        simulator_url = f"{scheme}://127.0.0.1:{simulator_port}"
        redirect_uri = f"http://127.0.0.1:{free_port()}{_RP_CALLBACK_PATH}"
        url, label = stack.enter_context(fresh_database(var_dir, database_url))
        application_name = None
        if database_url is not None:
            # Names the broker's connections in pg_stat_activity, so the bench can read
            # the CPU of the backends serving them (bench.postgres_cpu).
            application_name = f"gatehouse_bench_{secrets.token_hex(4)}"
            url = f"{url}&application_name={application_name}"
        tls = make_test_ca(var_dir / "tls") if https_idp else None
        simulator_command = [sys.executable, "-m", "idp_simulator"]
        tls_env: dict[str, str] = {}
        if tls is not None:
            simulator_command = [sys.executable, "-m", "bench.tls_idp"]
            tls_env = {
                "GATEHOUSE_UPSTREAM_CA_FILE": str(tls.ca_file),
                "BENCH_TLS_CERT": str(tls.cert_file),
                "BENCH_TLS_KEY": str(tls.key_file),
            }
        env = {
            **os.environ,
            "GATEHOUSE_ENV": "development",
            "GATEHOUSE_ISSUER": issuer,
            "GATEHOUSE_VAR_DIR": str(var_dir),
            "GATEHOUSE_DATABASE_URL": url,
            "GATEHOUSE_SECRET_KEY": secrets.token_urlsafe(32),
            "GATEHOUSE_DEMO_REDIRECT_URIS": redirect_uri,
            # Every benchmark login comes from one address, which the per-address limits
            # would refuse within a minute. The limits stay on, out of reach: their counters
            # are part of what a login costs.
            **{
                variable: "1000000"
                for variable, name in RATE_LIMIT_VARIABLES.items()
                if name != "token_failure_weight"
            },
            **tls_env,
            **(environment or {}),
        }
        settings = Settings.from_env(env)
        simulator = stack.enter_context(
            started(
                "simulator",
                simulator_command,
                {**env, **simulator_environment(settings, simulator_url=simulator_url)},
                var_dir,
                health_url=f"{simulator_url}/healthz",
                ca_file=tls.ca_file if tls else None,
            )
        )
        client = seed_demo(settings, demo_port=0)
        connections = seed_simulator_organizations(settings, simulator_url=simulator_url)
        if profile_path is None:
            command = [
                sys.executable, "-m", "uvicorn", "--factory", "broker.app:create_app_from_env",
                "--host", "127.0.0.1", "--port", str(broker_port), "--log-level", "warning",
            ]  # fmt: skip
            broker_env = env
            if workers > 1:
                # After seeding: this process's prometheus_client is imported by now, so
                # the variable (set in os.environ too while the block runs) cannot turn
                # this process's metrics into files of the workers' directory.
                shared = stack.enter_context(shared_by_workers(var_dir))
                command += ["--workers", str(workers)]
                broker_env = {**env, MULTIPROCESS_VARIABLE: shared}
        else:
            command = [sys.executable, "-m", "bench.profiled_broker", "--port", str(broker_port)]
            broker_env = {**env, "BENCH_PROFILE": str(profile_path)}
        if launch is not None:
            command = [*launch.prefix, *command]
        broker = stack.enter_context(
            started(
                "broker",
                command,
                broker_env,
                var_dir,
                health_url=f"{issuer}/healthz",
                cwd=launch.cwd if launch else None,
                timeout_s=launch.start_timeout_s if launch else _START_TIMEOUT_S,
            )
        )
        if workers > 1:
            wait_until_settled(broker, workers)
        yield Servers(
            issuer=issuer,
            simulator_url=simulator_url,
            client_id=client.client_id,
            client_secret=client.client_secret,
            redirect_uri=redirect_uri,
            database=label,
            broker=broker,
            simulator=simulator,
            connection_ids={"saml": connections.saml.id, "oidc": connections.oidc.id},
            settings=settings,
            database_url=url,
            application_name=application_name,
            ca_file=tls.ca_file if tls else None,
            workers=workers,
        )


def wait_until_settled(process: Process, workers: int) -> None:
    """Until `process` has `workers` worker processes (multiprocessing's spawned children)
    and its whole tree has been idle for two polls in a row. /healthz answers as soon as one
    worker is up; uvicorn's supervisor knows when each is ready but does not say (not at
    `--log-level warning`), so the bench waits for the imports and start-up to be over."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    cpu = ThreadCpu(process.pid)
    previous = cpu.read_ns()
    quiet = 0
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise BenchSetupError(
                f"{process.name} exited (status {process.popen.returncode}) before its "
                f"workers were ready:\n{process.log_tail()}"
            )
        time.sleep(_SETTLE_POLL_S)
        spent = cpu.read_ns()
        if len(worker_pids(process.pid)) >= workers and spent - previous < _SETTLED_NS:
            quiet += 1
            if quiet >= 2:
                return
        else:
            quiet = 0
        previous = spent
    raise BenchSetupError(
        f"{process.name}'s {workers} workers did not all start:\n{process.log_tail()}"
    )


def worker_pids(pid: int) -> list[int]:
    """The descendants of `pid` that are multiprocessing spawn children (uvicorn's workers),
    not its resource tracker."""
    found = []
    for child in process_tree(pid)[1:]:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


@contextmanager
def started(
    name: str,
    command: list[str],
    env: Mapping[str, str],
    var_dir: Path,
    *,
    health_url: str,
    ca_file: Path | None = None,
    cwd: Path | None = None,
    timeout_s: float = _START_TIMEOUT_S,
) -> Iterator[Process]:
    """`command` as a child process logging to `var_dir/<name>.log`, once `health_url`
    answers 200 (within `timeout_s`); stopped by its PID when the block ends. `cwd`: where
    it runs (`-m` imports from there first)."""
    log_path = var_dir / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            command,
            env=dict(env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    process = Process(name=name, popen=popen, log_path=log_path)
    try:
        _wait_until_up(process, health_url, ca_file, timeout_s)
        yield process
    finally:
        process.stop()


def _wait_until_up(
    process: Process, url: str, ca_file: Path | None = None, timeout_s: float = _START_TIMEOUT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise BenchSetupError(
                f"{process.name} exited (status {process.popen.returncode}) before it was "
                f"ready:\n{process.log_tail()}"
            )
        try:
            verify = ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
            if httpx.get(url, timeout=1, verify=verify).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise BenchSetupError(f"{process.name} did not answer {url}:\n{process.log_tail()}")
