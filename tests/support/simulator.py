"""The IdP simulator in process, as the upstream of an in-process Gatehouse: its SAML IdP and
its OpenID Provider (under /oidc) in one app, on Gatehouse's clock.

The person's browser reaches it with `browser()`, another site's cookie jar; Gatehouse's
outbound client (metadata by URL, discovery, JWKS, token, userinfo) with `back_channel()`,
so every byte of the back channel is the simulator's real answer.

`SimulatorWorld` is the default world (tests/support/harness.py) with the simulator upstream
and one more organization logging in through it: tests/support/saml_world.py and
oidc_world.py say through which of its protocols.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from broker.clock import FixedClock
from broker.model.records import Connection, Organization
from broker.store import Store
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER
from tests.support.harness import Harness, Login, build_harness, callback_params
from tests.support.simulator_moves import login_page

IDP_BASE = "https://idp.example.test"
IDP_METADATA_URL = f"{IDP_BASE}/metadata"
OP_ISSUER = f"{IDP_BASE}/oidc"
#: Gatehouse's client at the simulator's OP.
OP_CLIENT_ID = "gatehouse-test"
OP_CLIENT_SECRET = "simulator-test-secret-not-a-real-one"


@dataclass(frozen=True)
class Simulator:
    app: Starlette

    def browser(self) -> TestClient:
        """The person's browser at the simulator (its own origin: Gatehouse's cookies are
        another client's)."""
        return TestClient(self.app, base_url=IDP_BASE)

    def back_channel(self) -> httpx.Client:
        """Gatehouse's outbound client: the simulator's host reaches it, any other host fails
        to connect, as an unreachable one does."""
        simulator = TestClient(self.app, base_url=IDP_BASE)

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.host != urlsplit(IDP_BASE).hostname:
                raise httpx.ConnectError(f"cannot connect to {request.url.host}", request=request)
            answer = simulator.request(
                request.method,
                request.url.raw_path.decode(),
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                content=request.content,
                follow_redirects=False,
            )
            headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-encoding"}
            return httpx.Response(answer.status_code, headers=headers, content=answer.content)

        return httpx.Client(transport=httpx.MockTransport(handle))


def build_simulator(keys: IdpKeys, clock: FixedClock, *, base_url: str = IDP_BASE) -> Simulator:
    """`base_url` is the simulator's own idea of where it lives, from which it names its
    entity ID (`<base>/metadata`) and its issuers; it is reached at IDP_BASE whatever it
    says (a test of hostile IdP values gives one that holds markup)."""
    config = SimulatorConfig(
        base_url=base_url,
        key_dir=None,
        allowed_acs_prefixes=(ISSUER,),
        oidc_client_id=OP_CLIENT_ID,
        oidc_client_secret=OP_CLIENT_SECRET,
    )
    return Simulator(create_simulator(config, keys=keys, clock=clock.now))


@dataclass
class SimulatorWorld:
    gatehouse: Harness
    #: The person's browser at the simulator.
    idp: TestClient
    organization: Organization
    connection: Connection
    #: Who logs in by default, and where Gatehouse's hand-off sends them at the simulator.
    email: ClassVar[str]
    handoff: ClassVar[str]

    @property
    def store(self) -> Store:
        return self.gatehouse.store

    def start(self, email: str | None = None) -> tuple[Login, httpx.Response]:
        """The RP sends the person to /authorize; Gatehouse hands off to the simulator."""
        login = self.gatehouse.new_login(login_hint=self.email if email is None else email)
        response = self.gatehouse.authorize(login)
        assert response.status_code == 302, response.text
        assert response.headers["location"].startswith(self.handoff), response.headers
        return login, response

    def login_page(self, to_idp: httpx.Response) -> httpx.Response:
        return login_page(self.idp, to_idp.headers["location"])

    def code_from(self, back: httpx.Response) -> str:
        assert back.status_code == 302, back.text
        return callback_params(back)["code"]


def with_simulator(store: Store, tmp_path: object, keys: IdpKeys) -> tuple[Harness, Simulator]:
    """The default world with the simulator as its upstream, both on one clock."""
    clock = FixedClock()
    simulator = build_simulator(keys, clock)
    gatehouse = build_harness(store, tmp_path, clock=clock, http=simulator.back_channel())
    return gatehouse, simulator
