"""An OIDC login over real HTTP, as a browser makes it: the hops between a relying party,
Gatehouse and an OpenID Provider (the IdP simulator's, or the authlib one of the interop
tests) when each is a real server on loopback (tests/support/simulator_moves.py).

Unlike SAML's auto-posted form, every OIDC hop is a redirect, so the browser here follows
none by itself: each hop is a step whose target the test asserts, which is how a test proves
that a failed login sent nothing onward.
"""

from __future__ import annotations

import httpx

from broker.demo import DEMO_OIDC_ORG_NAME
from tests.support.simulator_moves import (
    Browser,
    oidc_replay,
    oidc_sign_in,
    query_params,
    redirect_target as redirect_target,
)

EMAIL = "alice@example.org"
ORG_NAME = DEMO_OIDC_ORG_NAME


class OidcBrowser(Browser):
    def at_simulator(self, authorize_url: str, *, simulator_url: str) -> httpx.Response:
        """From the RP's authorization URL (at Gatehouse) to the simulator's login page."""
        return self.to_login_page(authorize_url, f"{simulator_url}/oidc/authorize?")

    def log_in(self, login_page: httpx.Response, *, simulator_url: str, **form: str) -> str:
        """Fill the simulator's form (`form`: the scenario, the email); returns where its
        redirect sends the browser (with `iss`, RFC 9207), without going there."""
        chosen = {"email": EMAIL, **form}
        callback = oidc_sign_in(self.http, login_page, simulator_url=simulator_url, **chosen)
        assert query_params(callback)["iss"] == f"{simulator_url}/oidc", callback
        return callback

    def replay(self, *, simulator_url: str) -> str:
        """The simulator's last redirect again: a callback arriving a second time."""
        return oidc_replay(self.http, simulator_url)
