"""Gatehouse as a real `uvicorn` process, configured only by its environment, as an
operator runs it (`uvicorn --factory broker.app:create_app_from_env`)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class BrokerProcess:
    url: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def with_search_path(url: str, schema: str) -> str:
    """A PostgreSQL URL whose every connection uses `schema` (libpq `options`), so a process
    configured only by GATEHOUSE_DATABASE_URL works in a test's throwaway schema."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def broker_process(env: Mapping[str, str], *, port: int, log_dir: Path) -> Iterator[BrokerProcess]:
    """Start a broker on 127.0.0.1:`port`; on exit stop it (SIGTERM, then SIGKILL) by PID."""
    log_path = log_dir / f"broker-{port}.log"
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "broker.app:create_app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            command, env=dict(env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    process = BrokerProcess(url=f"http://127.0.0.1:{port}", popen=popen, log_path=log_path)
    try:
        _wait_until_up(process)
        yield process
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=_STOP_TIMEOUT_S)


def _wait_until_up(process: BrokerProcess) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(f"broker exited before it was ready:\n{process.log()}")
        try:
            if httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"broker at {process.url} did not come up:\n{process.log()}")
