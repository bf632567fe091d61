"""`make run` on a fresh var directory: the demo command migrates, seeds the demo client,
starts the broker and the demo app on loopback, prints the URLs, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port

pytestmark = pytest.mark.e2e


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"demo exited early: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_demo_runs_every_party_and_prints_the_urls(tmp_path: Path) -> None:
    broker_port, demo_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{broker_port}"
    env = {
        **os.environ,
        "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
        "GATEHOUSE_ISSUER": issuer,
        "GATEHOUSE_DEMO_CLIENT_SECRET": "fixed-demo-secret-for-this-test-only-0123456789",
    }
    env.pop("GATEHOUSE_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", "from broker.cli import main; main()", "demo",
         "--broker-port", str(broker_port), "--demo-port", str(demo_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        discovery = wait_for(f"{issuer}/.well-known/openid-configuration", process).json()
        assert discovery["issuer"] == issuer
        home = wait_for(f"http://127.0.0.1:{demo_port}/", process)
        assert home.status_code == 200
        assert "Log in with SSO" in home.text
        # The demo app starts a real code flow at the broker, which asks for the work email.
        with httpx.Client(timeout=5, follow_redirects=True) as browser:
            page = browser.get(f"http://127.0.0.1:{demo_port}/login")
        assert str(page.url).startswith(f"{issuer}/authorize?")
        assert page.status_code == 200
        assert 'name="email"' in page.text
        assert (tmp_path / "var" / "gatehouse.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"Broker / OIDC issuer:     {issuer}" in output
    assert "Demo client_id:           gatehouse-demo" in output
    assert "fixed-demo-secret-for-this-test-only-0123456789" in output
    with pytest.raises(httpx.TransportError):  # both children stopped with it
        httpx.get(f"{issuer}/healthz", timeout=2)
