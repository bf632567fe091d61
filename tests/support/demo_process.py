"""`gatehouse demo` (what `make run` runs) as a child process on free loopback ports, for the
tests that check what a newcomer gets from the README."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.live_server import free_port


@dataclass
class DemoRun:
    issuer: str
    app_url: str
    simulator_url: str
    var_dir: Path
    process: subprocess.Popen[str]
    #: Everything the demo printed, filled in when it has stopped.
    output: list[str] = field(default_factory=list)

    def wait_for(self, url: str, timeout: float = 60) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = self.process.stdout.read() if self.process.stdout else ""
                raise AssertionError(f"demo exited early: {out}")
            try:
                return httpx.get(url, timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"{url} did not answer")

    def wait_until_up(self) -> None:
        self.wait_for(f"{self.issuer}/.well-known/openid-configuration")
        self.wait_for(f"{self.app_url}/")


@contextmanager
def running_demo(tmp_path: Path, **environment: str) -> Iterator[DemoRun]:
    """The demo on a fresh var directory; stopped by SIGTERM to its PID at the end."""
    broker_port, demo_port, simulator_port = free_port(), free_port(), free_port()
    issuer = f"http://127.0.0.1:{broker_port}"
    env = {
        **os.environ,
        "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
        "GATEHOUSE_ISSUER": issuer,
        **environment,
    }
    env.pop("GATEHOUSE_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", "from broker.cli import main; main()", "demo",
         "--broker-port", str(broker_port), "--demo-port", str(demo_port),
         "--simulator-port", str(simulator_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    run = DemoRun(
        issuer=issuer,
        app_url=f"http://127.0.0.1:{demo_port}",
        simulator_url=f"http://127.0.0.1:{simulator_port}",
        var_dir=tmp_path / "var",
        process=process,
    )
    try:
        yield run
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        run.output.append(output)
