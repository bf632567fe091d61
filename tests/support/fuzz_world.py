"""A whole Gatehouse in process for hostile input: the default relying parties, an
organization with a verified domain and three connections (a live SAML one, a live OIDC
one whose IdP is a programmable `MockOp` behind the broker's outbound client, one in setup),
a portal session with its form token, and the moves that put a flow exactly where a hostile
answer should land (handed off to SAML or OIDC, its browser cookie in hand).

Requests go through `RawClient` (tests/support/raw_asgi.py): the app gets the header and
body bytes a fuzzer drew, not what httpx would have made of them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc.jwk import RSAKey

from broker.clock import FixedClock
from broker.management.dns_txt import TxtLookup
from broker.model.management import PORTAL_FEATURES
from broker.model.records import Connection
from broker.model.vendors import STRATEGIES
from broker.settings import ManagementSettings, MetricsSettings
from broker.store import Store
from tests.support.config import OUT_OF_REACH, RP_CALLBACK
from tests.support.gatehouse import ACTOR, Gatehouse, build_gatehouse
from tests.support.harness import (
    CLIENT_ID as CLIENT_ID,
    PUBLIC_CLIENT_ID as PUBLIC_CLIENT_ID,
    RelyingParties,
    authorization_request,
    pkce_pair,
    register_relying_parties,
)
from tests.support.maintain_world import live_oidc, live_saml
from tests.support.mock_op import MockOp
from tests.support.portal_forms import csrf_token
from tests.support.raw_asgi import RawAnswer, RawClient

DOMAIN = "acme.test"
EMAIL = f"ann@{DOMAIN}"
#: One PKCE pair for every flow: a token request can then bring the right verifier.
VERIFIER, CHALLENGE = pkce_pair()


#: THE place the fuzzed app's settings are made. Anything that would refuse requests for
#: reasons other than their content belongs here, set out of the fuzzer's way: the rate
#: limits (a fuzzer sends hundreds of requests a minute from one address), the management
#: API's per-client budget among them.
#: `/metrics` is served on the main listener only with a token: the fuzz world sets one.
METRICS_TOKEN = "fuzz-metrics-token-not-a-real-one"
FUZZ_SETTINGS: dict[str, Any] = {
    "rate_limits": OUT_OF_REACH,
    "management": ManagementSettings(requests_per_minute=10**6),
    "metrics": MetricsSettings(token=METRICS_TOKEN),
}


@dataclass
class Handoff:
    """A flow handed off to an upstream IdP: what its answer must carry to be looked at."""

    flow_id: str
    cookie: str  # the browser-binding cookie, as a Cookie header value
    location: str  # where the browser was sent (OIDC: the IdP's authorize URL)


@dataclass
class FuzzWorld(Gatehouse, RelyingParties):
    op: MockOp
    organization_id: str
    saml: Connection
    oidc: Connection
    in_setup: Connection
    #: The organization's SCIM directory (directory sync pages).
    directory_id: str = ""
    raw: RawClient | None = None
    portal_cookie: str = ""
    portal_token: str = ""

    @property
    def connection_ids(self) -> tuple[str, ...]:
        return (self.saml.id, self.oidc.id, self.in_setup.id)

    def request(self, method: str, path: bytes | str, **kwargs: Any) -> RawAnswer:
        assert self.raw is not None, "open the world's raw client first"
        return self.raw.request(method, path, **kwargs)

    # -- relying party --------------------------------------------------------------------

    def authorize_params(self, **overrides: str) -> dict[str, str]:
        params = authorization_request(
            client_id=CLIENT_ID, state="rp-state", nonce="rp-nonce", challenge=CHALLENGE
        )
        return params | overrides

    def new_flow(self) -> str:
        """A live flow, not handed off yet (the email page's)."""
        answer = self.request(
            "GET", "/authorize", query=urlencode(self.authorize_params()).encode()
        )
        found = re.search(r'name="flow" value="([^"]+)"', answer.text)
        assert answer.status == 200, answer.text[:500]
        assert found, answer.text[:500]
        return html.unescape(found.group(1))

    def handoff(self, connection: Connection) -> Handoff:
        """A flow handed off to `connection`, as its IdP's answer would find it."""
        query = urlencode(self.authorize_params(connection=connection.id, login_hint=EMAIL))
        answer = self.request("GET", "/authorize", query=query.encode())
        assert answer.status in (200, 302), (answer.status, answer.text[:500])
        cookie = SimpleCookie()
        for name, value in answer.headers:
            if name.lower() == b"set-cookie":
                cookie.load(value.decode("latin-1"))
        binding = "; ".join(f"{k}={v.value}" for k, v in cookie.items())
        if answer.status == 302:  # OIDC `state`, SAML redirect binding `RelayState`
            location = answer.header("location") or ""
            sent = parse_qs(urlsplit(location).query)
            flow_id = (sent.get("state") or sent["RelayState"])[0]
        else:  # SAML POST binding: the auto-post page carries RelayState
            found = re.search(r'name="RelayState" value="([^"]+)"', answer.text)
            assert found, answer.text[:500]
            location, flow_id = "", html.unescape(found.group(1))
        return Handoff(flow_id=flow_id, cookie=binding, location=location)

    def login_code(self) -> str:
        """A code the broker issued for a whole login through the OIDC connection."""
        handoff = self.handoff(self.oidc)
        authorization = self.op.authorize(handoff.location)
        answer = self.request(
            "GET",
            f"/oidc/{self.oidc.id}/callback",
            query=urlencode(self.op.answer(authorization)).encode(),
            headers=[(b"cookie", handoff.cookie.encode())],
        )
        location = answer.header("location") or ""
        assert answer.status == 302, answer.text[:500]
        assert location.startswith(RP_CALLBACK), location
        return parse_qs(urlsplit(location).query)["code"][0]

    # -- portal -----------------------------------------------------------------------------

    def open_portal_session(self) -> None:
        """A session with every feature, and the form token its pages carry. A minute
        passes first: link redemptions are counted per minute (T-07), and the fuzzer's own
        guesses at `/portal/link` may have used this one's up."""
        self.clock.advance(timedelta(minutes=1))
        browser = self.signed_in(self.organization_id, enabled_features=PORTAL_FEATURES)
        self.portal_cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        self.portal_token = csrf_token(browser.get("/portal/").text)


def build_fuzz_world(
    store: Store, tmp_path: Path, *, op_key: RSAKey, dns: TxtLookup | None = None
) -> FuzzWorld:
    """`dns`: where domain checks look (a DNS server on loopback; never the network)."""
    clock = FixedClock()
    op = MockOp(key=op_key, now=clock.now)
    built = build_gatehouse(
        store, tmp_path, clock=clock, http=op.client(), dns=dns, **FUZZ_SETTINGS
    )
    org = built.organization().id
    built.verified_domain(org, DOMAIN)
    saml, oidc = live_saml(built, org), live_oidc(built, org, op)
    in_setup = built.broker.management.connection_setup.begin(
        ACTOR, org, strategy="okta", protocol="saml", offered=STRATEGIES
    )
    directory = built.broker.management.directories.create(ACTOR, organization_id=org, name="Okta")
    return FuzzWorld(
        **vars(built),
        **vars(register_relying_parties(store, clock)),
        op=op,
        organization_id=org,
        saml=saml,
        oidc=oidc,
        in_setup=in_setup,
        directory_id=directory.directory.id,
    )
