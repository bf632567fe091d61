"""`make run` on a fresh var directory: the demo command migrates, seeds the demo client and
both demo organizations, starts the simulator, the broker and the demo app on loopback,
prints the URLs, and stops cleanly. A person then logs in through each seeded connection:
alice@example.com over SAML (Example Corp), alice@example.org over OIDC (Example Labs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.demo_process import running_demo
from tests.support.saml_pages import autopost, hidden_fields, login_form, pending_key

pytestmark = pytest.mark.e2e


@dataclass
class Demo:
    """A person at the running demo: the demo app, Gatehouse's email page, the simulator."""

    issuer: str
    app_url: str
    simulator_url: str

    def at_idp(self, browser: httpx.Client, email: str) -> httpx.Response:
        """The demo app starts a real code flow at the broker, which asks for the work
        email and sends the person on to the IdP of that email's organization."""
        page = browser.get(f"{self.app_url}/login")
        assert str(page.url).startswith(f"{self.issuer}/authorize?")
        assert page.status_code == 200
        assert 'name="email"' in page.text
        form = hidden_fields(page.text)
        assert "flow" in form, page.text
        return browser.post(f"{self.issuer}/login", data={**form, "email": email})

    def log_in_over_saml(self, email: str) -> httpx.Response:
        with httpx.Client(timeout=10, follow_redirects=True) as browser:
            at_idp = self.at_idp(browser, email)
            assert str(at_idp.url).startswith(f"{self.simulator_url}/sso")
            form = login_form(pending_key(at_idp.text), email=email)
            posted = browser.post(f"{self.simulator_url}/sso/login", data=form)
            postback = autopost(posted.text)
            assert postback.acs_url.startswith(f"{self.issuer}/saml/")
            landed = browser.post(postback.acs_url, data=postback.fields)
        return self.signed_in(landed, email)

    def log_in_over_oidc(self, email: str) -> tuple[httpx.Response, str]:
        """Also returns Gatehouse's redirect URI the simulator's OP sent the person to."""
        with httpx.Client(timeout=10, follow_redirects=True) as browser:
            at_idp = self.at_idp(browser, email)
            assert str(at_idp.url).startswith(f"{self.simulator_url}/oidc/authorize?")
            form = login_form(pending_key(at_idp.text), email=email)
            form.pop("sign")  # SAML only
            landed = browser.post(f"{self.simulator_url}/oidc/login", data=form)
        callbacks = [str(r.url) for r in landed.history if str(r.url).startswith(self.issuer)]
        assert len(callbacks) == 1, callbacks
        return self.signed_in(landed, email), callbacks[0].split("?")[0]

    def signed_in(self, landed: httpx.Response, email: str) -> httpx.Response:
        assert str(landed.url).startswith(f"{self.app_url}/"), landed.url
        assert landed.status_code == 200, landed.text
        assert "Signed in" in landed.text
        assert email in landed.text
        return landed


def test_demo_runs_every_party_and_prints_the_urls(tmp_path: Path) -> None:
    secret = "fixed-demo-secret-for-this-test-only-0123456789"
    with running_demo(tmp_path, GATEHOUSE_DEMO_CLIENT_SECRET=secret) as run:
        issuer = run.issuer
        discovery = run.wait_for(f"{issuer}/.well-known/openid-configuration").json()
        assert discovery["issuer"] == issuer
        home = run.wait_for(f"{run.app_url}/")
        assert home.status_code == 200
        assert "Log in with SSO" in home.text
        demo = Demo(issuer, run.app_url, run.simulator_url)
        saml = demo.log_in_over_saml("alice@example.com")
        assert "Example Corp" in saml.text
        oidc, oidc_callback = demo.log_in_over_oidc("alice@example.org")
        assert "Example Labs" in oidc.text
        assert (run.var_dir / "gatehouse.sqlite3").exists()
    [output] = run.output
    assert run.process.returncode == 0
    assert f"Broker / OIDC issuer:     {issuer}" in output
    assert "Demo client_id:           gatehouse-demo" in output
    assert secret in output
    assert f"IdP simulator:            {run.simulator_url}/ " in output
    assert f"OIDC issuer {run.simulator_url}/oidc)" in output
    assert f"Management API:           {issuer}/api/v1" in output
    assert re.search(
        rf"Portal link: +{re.escape(issuer)}/portal/link/[A-Za-z0-9_-]{{20,}}\n", output
    )
    # The redirect URI an IT admin registers at Example Labs' IdP: the one the login used.
    labs = re.search(r"Example Labs \(OIDC\): +(con_\S+)\n +Redirect URI: +(\S+)\n", output)
    assert labs, output
    assert labs.group(2) == f"{issuer}/oidc/{labs.group(1)}/callback" == oidc_callback
    for url in (f"{issuer}/healthz", f"{run.simulator_url}/healthz"):
        with pytest.raises(httpx.TransportError):  # every child stopped with it
            httpx.get(url, timeout=2)
