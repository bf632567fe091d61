"""An OIDC login over real HTTP, as a browser makes it: the hops between a relying party,
Gatehouse and an OpenID Provider (the IdP simulator's, or the authlib one of the interop
tests) when each is a real server on loopback, plus the tenant those logins need (Example
Labs, its verified domain example.org, an OIDC connection configured from the simulator's
issuer).

Unlike SAML's auto-posted form, every OIDC hop is a redirect, so the browser here follows
none by itself: each hop is a step whose target the test asserts, which is how a test proves
that a failed login sent nothing onward.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from broker.app import Broker
from broker.demo import DEMO_OIDC_ORG_NAME, seed_example_labs_with
from broker.domain.model import AuditEvent, Connection, Organization
from broker.store import Store
from tests.support.saml_http import query_params
from tests.support.saml_pages import hidden_fields, login_form

EMAIL = "alice@example.org"
ORG_NAME = DEMO_OIDC_ORG_NAME


def seed_oidc_tenant(
    broker: Broker, *, simulator_url: str, client_secret: str
) -> tuple[Organization, Connection]:
    """Example Labs through the demo's own seed: `create_oidc_connection` fetches and checks
    the running simulator's discovery document before anything is stored."""
    connection = seed_example_labs_with(
        broker, simulator_url=simulator_url, client_secret=client_secret
    )
    with broker.store.unit_of_work() as uow:
        return uow.organizations.get(connection.organization_id), connection


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


def audit_for(store: Store, organization_id: str, request_id: str) -> list[AuditEvent]:
    """The audit events a request left: what an operator finds from a reference id."""
    with store.unit_of_work() as uow:
        events = uow.audit.list(limit=1000, organization_id=organization_id)
    return [event for event in events if event.request_id == request_id]


class RequestLog:
    """ASGI wrapper recording every request path and query the wrapped app receives: how a
    test sees that nothing reached the relying party."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['path']}?{scope['query_string'].decode('latin-1')}")
        await self.app(scope, receive, send)

    def callbacks(self) -> list[str]:
        return [entry for entry in self.seen if entry.startswith("/callback")]


def verified_claims(result_page: str) -> dict[str, Any]:
    """The claims the demo RP verified, from the raw JSON its result page shows."""
    raw = re.search(r"<h2>Raw JSON</h2>\s*<pre>(.*?)</pre>", result_page, re.S)
    assert raw, result_page
    shown: dict[str, Any] = json.loads(html.unescape(raw.group(1)))
    return dict(shown["id_token_claims"])
