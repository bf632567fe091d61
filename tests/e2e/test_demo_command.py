"""`make run` on a fresh var directory: the demo command migrates, seeds the demo client,
starts the broker and the demo app on loopback, prints the URLs, and stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port
from tests.support.saml_pages import autopost, login_form, pending_key

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
    broker_port, demo_port, simulator_port = free_port(), free_port(), free_port()
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
         "--broker-port", str(broker_port), "--demo-port", str(demo_port),
         "--simulator-port", str(simulator_port)],
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
        # The demo app starts a real code flow at the broker, which asks for the work email;
        # alice@example.com goes to the simulator over SAML and comes back signed in.
        with httpx.Client(timeout=10, follow_redirects=True) as browser:
            page = browser.get(f"http://127.0.0.1:{demo_port}/login")
            assert str(page.url).startswith(f"{issuer}/authorize?")
            assert page.status_code == 200
            assert 'name="email"' in page.text
            flow = re.search(r'name="flow" value="([^"]+)"', page.text)
            assert flow, page.text
            at_idp = browser.post(
                f"{issuer}/login", data={"flow": flow.group(1), "email": "alice@example.com"}
            )
            assert str(at_idp.url).startswith(f"http://127.0.0.1:{simulator_port}/sso")
            form = login_form(pending_key(at_idp.text), email="alice@example.com")
            posted = browser.post(f"http://127.0.0.1:{simulator_port}/sso/login", data=form)
            postback = autopost(posted.text)
            assert postback.acs_url.startswith(f"{issuer}/saml/")
            landed = browser.post(postback.acs_url, data=postback.fields)
        assert str(landed.url).startswith(f"http://127.0.0.1:{demo_port}/"), landed.url
        assert landed.status_code == 200, landed.text
        assert "alice@example.com" in landed.text
        assert "Example Corp" in landed.text
        assert (tmp_path / "var" / "gatehouse.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"Broker / OIDC issuer:     {issuer}" in output
    assert "Demo client_id:           gatehouse-demo" in output
    assert "fixed-demo-secret-for-this-test-only-0123456789" in output
    assert f"IdP simulator (SAML):     http://127.0.0.1:{simulator_port}/" in output
    for url in (f"{issuer}/healthz", f"http://127.0.0.1:{simulator_port}/healthz"):
        with pytest.raises(httpx.TransportError):  # every child stopped with it
            httpx.get(url, timeout=2)
