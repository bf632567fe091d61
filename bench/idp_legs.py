"""The IdP legs of a benchmarked login: what the browser does between Gatehouse's redirect to
the upstream IdP (the simulator) and Gatehouse's answer at its callback.

- SAML (Example Corp, alice@example.com): the simulator's `/sso` → its login form → the
  auto-post page → the SAMLResponse to post to Gatehouse's ACS.
- OIDC (Example Labs, alice@example.org): the simulator's `/oidc/authorize` → its login form
  → 302 to Gatehouse's redirect URI with code, state and iss, for the browser to follow; there
  Gatehouse redeems the code at the simulator's token endpoint (back channel) and verifies the
  ID token against the simulator's JWKS before answering.

Both answer the form as the same person with the "success" scenario.
"""

from __future__ import annotations

import html
import re

import httpx

from bench.relying_party import IdpLeg, LoginError, expect, hidden_fields, redirect
from bench.servers import Servers

__all__ = ["LEGS", "OIDC", "SAML"]

_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def _person(email: str) -> dict[str, str]:
    """The login form's fields both protocols share."""
    return {
        "email": email,
        "given_name": "Alice",
        "family_name": "Example",
        "groups": "engineering",
        "attributes": "",
        "scenario": "success",
    }


def _pending(page: httpx.Response) -> str:
    pending = hidden_fields(page.text).get("pending")
    if not pending:
        raise LoginError("simulator login page without a pending key")
    return pending


def _saml(http: httpx.Client, servers: Servers, location: str) -> httpx.Request:
    sim = servers.simulator_url
    pending = _pending(expect(http.get(location), 200, "simulator /sso"))
    autopost = expect(
        http.post(
            f"{sim}/sso/login",
            data={"pending": pending, **_person(SAML.email), "sign": "both"},
        ),
        200,
        "simulator /sso/login",
    )
    action = _FORM_ACTION.search(autopost.text)
    if action is None:
        raise LoginError("simulator auto-post page without a form")
    acs = html.unescape(action.group(1))
    expected = f"{servers.issuer}/saml/{servers.connection_ids['saml']}/acs"
    if acs != expected:
        raise LoginError(f"simulator auto-posts to {acs!r}, expected {expected!r}")
    fields = {name: html.unescape(value) for name, value in hidden_fields(autopost.text).items()}
    return http.build_request("POST", acs, data=fields)


def _oidc(http: httpx.Client, servers: Servers, location: str) -> httpx.Request:
    sim = servers.simulator_url
    pending = _pending(expect(http.get(location), 200, "simulator /oidc/authorize"))
    callback = redirect(
        http.post(f"{sim}/oidc/login", data={"pending": pending, **_person(OIDC.email)}),
        "simulator /oidc/login",
        f"{servers.issuer}/oidc/{servers.connection_ids['oidc']}/callback?",
    )
    return http.build_request("GET", callback)


SAML = IdpLeg(
    protocol="saml",
    email="alice@example.com",
    organization="Example Corp",
    idp_entry="/sso?",
    log_in=_saml,
)
OIDC = IdpLeg(
    protocol="oidc",
    email="alice@example.org",
    organization="Example Labs",
    idp_entry="/oidc/authorize?",
    log_in=_oidc,
)
LEGS = {leg.protocol: leg for leg in (SAML, OIDC)}
