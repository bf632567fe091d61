"""Gatehouse and the simulator's OpenID Provider, in process: the relying party's
/authorize, the simulator's login form, its redirect to our callback, and back to the relying
party. Gatehouse's own outbound client (discovery, JWKS, token, userinfo) is routed to the
simulator app too, so every byte of the back channel is the simulator's real answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.testclient import TestClient

from broker.keys import SecretBox
from broker.model.records import Connection, Domain, Organization
from broker.store import Store
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_oidc_config
from tests.support.harness import Harness, Login, build_harness, callback_params
from tests.support.saml_pages import hidden_fields, login_form

IDP_BASE = "https://idp.example.test"
OP_ISSUER = f"{IDP_BASE}/oidc"
OP_CLIENT_ID = "gatehouse-test"
OP_CLIENT_SECRET = "simulator-test-secret-not-a-real-one"
ORG_ID = "org_labs"
CONNECTION_ID = "con_labs_oidc"
EMAIL = "alice@example.org"


@dataclass
class OidcWorld:
    gatehouse: Harness
    idp: TestClient
    organization: Organization
    connection: Connection

    @property
    def store(self) -> Store:
        return self.gatehouse.store

    def start(self, email: str = EMAIL) -> tuple[Login, httpx.Response]:
        """The RP sends the person to /authorize; Gatehouse redirects to the IdP."""
        login = self.gatehouse.new_login(login_hint=email)
        response = self.gatehouse.authorize(login)
        assert response.status_code == 302, response.text
        assert response.headers["location"].startswith(f"{OP_ISSUER}/authorize?"), response.headers
        return login, response

    def at_idp(
        self,
        to_idp: httpx.Response,
        *,
        email: str = EMAIL,
        scenario: str = "success",
        **fields: str,
    ) -> str:
        """The person logs in at the simulator; returns where it sends the browser."""
        location = urlsplit(to_idp.headers["location"])
        page = self.idp.get(f"{location.path}?{location.query}")
        assert page.status_code == 200, page.text
        form = login_form(hidden_fields(page.text)["pending"], email=email, scenario=scenario)
        form.pop("sign")
        posted = self.idp.post("/oidc/login", data={**form, **fields}, follow_redirects=False)
        assert posted.status_code == 302, posted.text
        return str(posted.headers["location"])

    def back(self, callback_url: str, *, client: TestClient | None = None) -> httpx.Response:
        """The browser arrives at Gatehouse's redirect URI."""
        assert callback_url.startswith(f"{ISSUER}/oidc/{CONNECTION_ID}/callback?"), callback_url
        parts = urlsplit(callback_url)
        response: httpx.Response = (client or self.gatehouse.client).get(
            f"{parts.path}?{parts.query}", follow_redirects=False
        )
        return response

    def replay(self) -> str:
        again = self.idp.get("/oidc/replay", follow_redirects=False)
        assert again.status_code == 302, again.text
        return str(again.headers["location"])

    def login(self, email: str = EMAIL, scenario: str = "success") -> tuple[Login, httpx.Response]:
        login, to_idp = self.start(email)
        return login, self.back(self.at_idp(to_idp, email=email, scenario=scenario))

    def code_from(self, back: httpx.Response) -> str:
        assert back.status_code == 302, back.text
        return callback_params(back)["code"]


def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(
        base_url=IDP_BASE,
        key_dir=None,
        allowed_acs_prefixes=(ISSUER,),
        oidc_client_id=OP_CLIENT_ID,
        oidc_client_secret=OP_CLIENT_SECRET,
    )


def add_oidc_connection(
    store: Store, *, now: Any, options: dict[str, object] | None = None
) -> tuple[Organization, Connection]:
    organization = Organization(id=ORG_ID, name="Example Labs", external_id=None, created_at=now)
    config = new_oidc_config(
        {"issuer": OP_ISSUER, "client_id": OP_CLIENT_ID, **(options or {})},
        box=SecretBox(TEST_SECRET_KEY),
        connection_id=CONNECTION_ID,
        client_secret=OP_CLIENT_SECRET,
    )
    connection = Connection(
        id=CONNECTION_ID,
        organization_id=ORG_ID,
        kind="oidc",
        name="Example Labs OIDC",
        config=config,
        created_at=now,
    )
    with store.unit_of_work() as uow:
        uow.organizations.add(organization)
        uow.domains.add(Domain(organization_id=ORG_ID, name="example.org", verified_at=now))
        uow.connections.add(connection)
    return organization, connection


def build_oidc_world(store: Store, tmp_path: Any, idp_keys: IdpKeys) -> OidcWorld:
    clock_holder: list[Harness] = []
    simulator = create_simulator(
        simulator_config(), keys=idp_keys, clock=lambda: clock_holder[0].clock.now()
    )
    back_channel = TestClient(simulator, base_url=IDP_BASE)
    gatehouse = build_harness(store, tmp_path, http=back_channel)
    clock_holder.append(gatehouse)
    idp = TestClient(simulator, base_url=IDP_BASE)
    organization, connection = add_oidc_connection(store, now=gatehouse.clock.now())
    return OidcWorld(gatehouse=gatehouse, idp=idp, organization=organization, connection=connection)
