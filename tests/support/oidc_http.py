"""An OIDC login over real HTTP, as a browser makes it: the hops between a relying party,
Gatehouse and an OpenID Provider (the IdP simulator's, or the authlib one of the interop
tests) when each is a real server on loopback.

Unlike SAML's auto-posted form, every OIDC hop is a redirect, so the browser here follows
none by itself: each hop is a step whose target the test asserts, which is how a test proves
that a failed login sent nothing onward.
"""

from __future__ import annotations

import httpx

from broker.demo import DEMO_OIDC_ORG_NAME
from tests.support.saml_http import query_params
from tests.support.saml_pages import hidden_fields, login_form

EMAIL = "alice@example.org"
ORG_NAME = DEMO_OIDC_ORG_NAME


class OidcBrowser:
    """One browser (one cookie jar across every host) that follows nothing by itself."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def hop(self, response: httpx.Response, prefix: str) -> httpx.Response:
        """Follow one redirect, asserting where it goes."""
        return self.http.get(redirect_target(response, prefix))

    def at_simulator(self, authorize_url: str, *, simulator_url: str) -> httpx.Response:
        """From the RP's authorization URL (at Gatehouse) to the simulator's login page."""
        to_op = self.http.get(authorize_url)
        page = self.hop(to_op, f"{simulator_url}/oidc/authorize?")
        assert page.status_code == 200, page.text
        return page

    def log_in(
        self,
        login_page: httpx.Response,
        *,
        simulator_url: str,
        scenario: str = "success",
        email: str = EMAIL,
    ) -> str:
        """Fill the simulator's form; returns where its redirect sends the browser (with
        `iss`, RFC 9207), without going there."""
        form = login_form(hidden_fields(login_page.text)["pending"], email=email, scenario=scenario)
        form.pop("sign")  # a SAML-only field
        posted = self.http.post(f"{simulator_url}/oidc/login", data=form)
        callback = redirect_target(posted, "")
        assert query_params(callback)["iss"] == f"{simulator_url}/oidc", callback
        return callback

    def replay(self, *, simulator_url: str) -> str:
        """The simulator's last redirect again: a callback arriving a second time."""
        again = self.http.get(f"{simulator_url}/oidc/replay")
        return redirect_target(again, "")


def redirect_target(response: httpx.Response, prefix: str) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text)
    location = str(response.headers["location"])
    assert location.startswith(prefix), (location, prefix)
    return location
