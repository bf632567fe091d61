"""The IdP simulator in process, as an in-process Gatehouse's upstream: its SAML IdP and its
OpenID Provider (under /oidc) in one app, on Gatehouse's clock. The person's browser reaches
it with `browser()` (another site's cookies), Gatehouse's outbound client with
`back_channel()`, so every byte of the back channel is the simulator's real answer.

`saml_answer`, `oidc_answer` and `arrive` are the person's moves in process, between a
hand-off and the answer reaching Gatehouse; `SimulatorWorld` is the default world
(tests/support/harness.py) with one more organization logging in through the simulator
(tests/support/saml_world.py, oidc_world.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
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
from tests.support.saml_pages import PostBack, hidden_fields
from tests.support.simulator_moves import login_page, oidc_sign_in, saml_sign_in

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
        return TestClient(self.app, base_url=IDP_BASE)

    def back_channel(self) -> httpx.Client:
        """The simulator's host reaches it; any other fails to connect, as an unreachable
        one does."""
        simulator = self.browser()

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
    entity ID and issuers; it is reached at IDP_BASE whatever it says (a test of hostile IdP
    values gives one that holds markup)."""
    config = SimulatorConfig(
        base_url=base_url,
        key_dir=None,
        allowed_acs_prefixes=(ISSUER,),
        oidc_client_id=OP_CLIENT_ID,
        oidc_client_secret=OP_CLIENT_SECRET,
    )
    return Simulator(create_simulator(config, keys=keys, clock=clock.now))


def saml_answer(idp: TestClient, to_idp: httpx.Response, **form: str) -> PostBack:
    """The person signs in at the SAML IdP a hand-off sent them to (`form`: email, scenario,
    sign, groups, attributes); its auto-post."""
    page = login_page(idp, to_idp.headers["location"])
    return saml_sign_in(idp, page, simulator_url=IDP_BASE, **form)


def oidc_answer(idp: TestClient, to_idp: httpx.Response, **form: str) -> str:
    """The person signs in at the OP a hand-off sent them to; where it sends them back."""
    page = login_page(idp, to_idp.headers["location"])
    return oidc_sign_in(idp, page, simulator_url=IDP_BASE, **form)


def arrive(browser: TestClient, answer: PostBack | str) -> httpx.Response:
    """The IdP's answer reaching Gatehouse, not followed: the auto-post at the ACS, or the
    browser at the redirect URI."""
    if isinstance(answer, PostBack):
        posted: httpx.Response = browser.post(
            answer.acs_path, data=answer.fields, follow_redirects=False
        )
        return posted
    assert answer.startswith(f"{ISSUER}/oidc/"), answer
    parts = urlsplit(answer)
    back: httpx.Response = browser.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    return back


@dataclass
class SimulatorWorld:
    gatehouse: Harness
    #: The person's browser at the simulator.
    idp: TestClient
    organization: Organization
    connection: Connection
    #: Who logs in by default, and where Gatehouse's hand-off sends them.
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

    def start_typed(self, email: str) -> tuple[Login, httpx.Response]:
        """The RP names no one (no `login_hint`): the person types `email` on Gatehouse's
        email page, and Gatehouse hands off to the simulator."""
        login = self.gatehouse.new_login(login_hint=None)
        page = self.gatehouse.authorize(login)
        assert page.status_code == 200, page.text
        response: httpx.Response = self.gatehouse.client.post(
            "/login", data={**hidden_fields(page.text), "email": email}, follow_redirects=False
        )
        assert response.status_code == 302, response.text
        assert response.headers["location"].startswith(self.handoff), response.headers
        return login, response

    def code_from(self, back: httpx.Response) -> str:
        assert back.status_code == 302, back.text
        return callback_params(back)["code"]


def with_simulator(store: Store, tmp_path: Any, keys: IdpKeys) -> tuple[Harness, Simulator]:
    """The default world with the simulator upstream, both on one clock."""
    clock = FixedClock()
    simulator = build_simulator(keys, clock)
    return build_harness(store, tmp_path, clock=clock, http=simulator.back_channel()), simulator
