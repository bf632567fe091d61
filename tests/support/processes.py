"""Gatehouse as a real process, configured only by its environment, as an operator runs it:
under `uvicorn --factory broker.app:create_app_from_env`, or as `gatehouse serve` (which
starts uvicorn's workers itself). Stopped by its PID (SIGTERM, then SIGKILL), which stops
the workers it started."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

_START_TIMEOUT_S = 60.0  # several workers import the whole broker on shared cores
_STOP_TIMEOUT_S = 15.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BrokerProcess:
    url: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        """The processes uvicorn spawned for the workers: the children of this one that run
        `spawn_main` (multiprocessing's resource tracker is a child too)."""
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        return [pid for pid in pids if b"spawn_main" in _cmdline(pid)]


def with_search_path(url: str, schema: str) -> str:
    """A PostgreSQL URL whose every connection uses `schema` (libpq `options`), so a process
    configured only by GATEHOUSE_DATABASE_URL works in a test's throwaway schema."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def broker_process(env: Mapping[str, str], *, port: int, log_dir: Path) -> Iterator[BrokerProcess]:
    """uvicorn on the app factory, on 127.0.0.1:`port`, until the block ends."""
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "broker.app:create_app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    with _running(command, env, log_dir / f"broker-{port}.log", port) as process:
        yield process


@contextmanager
def gatehouse_serve(
    env: Mapping[str, str], *, port: int, workers: int, log_dir: Path
) -> Iterator[BrokerProcess]:
    """`gatehouse serve --workers N` on 127.0.0.1:`port`, once every worker has started
    (one worker is uvicorn in the `serve` process itself: its PID is the process's)."""
    command = [
        sys.executable, "-m", "broker", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    log_path = log_dir / f"serve-{port}.log"

    def started(process: BrokerProcess) -> bool:
        return workers == 1 or len(process.worker_pids()) >= workers

    with _running(command, env, log_path, port, started) as up:
        yield up


def gatehouse(env: Mapping[str, str], *arguments: str) -> None:
    """A `gatehouse` command run to its end (`migrate`...), from this checkout."""
    done = subprocess.run(
        [sys.executable, "-m", "broker", *arguments],
        env=dict(env), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def stop(process: BrokerProcess) -> None:
    popen = process.popen
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=_STOP_TIMEOUT_S)


@contextmanager
def _running(
    command: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    port: int,
    started: Callable[[BrokerProcess], bool] = lambda _: True,
) -> Iterator[BrokerProcess]:
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            list(command), env=dict(env), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    process = BrokerProcess(url=f"http://127.0.0.1:{port}", popen=popen, log_path=log_path)
    try:
        _wait_until_up(process, started)
        yield process
    finally:
        stop(process)


def _wait_until_up(process: BrokerProcess, started: Callable[[BrokerProcess], bool]) -> None:
    """Until /healthz answers and `started` holds (every worker up, say)."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.url} exited before it was ready:\n{process.log()}")
        try:
            up = httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            up = False
        if up and started(process):
            return
        time.sleep(0.05)
    raise AssertionError(f"{process.url} did not come up:\n{process.log()}")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it has just ended
        return b""
