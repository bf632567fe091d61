"""`gatehouse serve` as a real process, configured only by its environment, as an operator
runs it; stopped by its PID (SIGTERM, then SIGKILL), which stops the workers it started."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

_START_TIMEOUT_S = 60.0  # two workers import the whole broker on shared cores
_STOP_TIMEOUT_S = 15.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServeProcess:
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


def gatehouse(env: Mapping[str, str], *arguments: str) -> None:
    """A `gatehouse` command run to its end (`migrate`...), from this checkout."""
    done = subprocess.run(
        [sys.executable, "-m", "broker", *arguments],
        env=dict(env), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@contextmanager
def gatehouse_serve(
    env: Mapping[str, str], *, port: int, workers: int, log_dir: Path
) -> Iterator[ServeProcess]:
    log_path = log_dir / f"serve-{port}.log"
    command = [
        sys.executable, "-m", "broker", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            command, env=dict(env), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    process = ServeProcess(url=f"http://127.0.0.1:{port}", popen=popen, log_path=log_path)
    try:
        _wait_for_workers(process, workers)
        yield process
    finally:
        stop(process)


def stop(process: ServeProcess) -> None:
    popen = process.popen
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=_STOP_TIMEOUT_S)


def _wait_for_workers(process: ServeProcess, workers: int) -> None:
    """Until /healthz answers and uvicorn has started every worker."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"gatehouse serve exited before it was ready:\n{process.log()}")
        try:
            up = httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            up = False
        if up and len(process.worker_pids()) >= workers:
            return
        time.sleep(0.1)
    raise AssertionError(f"gatehouse serve at {process.url} did not come up:\n{process.log()}")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # it has just ended
        return b""
