"""Gatehouse and the IdP simulator, in process, with a browser that carries cookies between
them: the relying party's /authorize, the simulator's SSO and login form, its auto-post to
our ACS, and back to the relying party."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.testclient import TestClient

from broker.keys import SecretBox
from broker.model.records import Connection, Domain, Organization
from broker.store import Store
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.urls import endpoints_for
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_saml_config
from tests.support.harness import Harness, Login, build_harness, callback_params

# PostBack is part of the world's API (tests build their own from one it returned).
from tests.support.saml_pages import PostBack as PostBack, autopost, login_form, pending_key

IDP_BASE = "https://idp.example.test"
ORG_ID = "org_example"
CONNECTION_ID = "con_example_saml"


@dataclass
class SamlWorld:
    gatehouse: Harness
    idp: TestClient
    organization: Organization
    connection: Connection

    @property
    def store(self) -> Store:
        return self.gatehouse.store

    def start(self, email: str = "alice@example.com") -> tuple[Login, httpx.Response]:
        """The RP sends the person to /authorize; Gatehouse answers with the AuthnRequest."""
        login = self.gatehouse.new_login(login_hint=email)
        response = self.gatehouse.authorize(login)
        assert response.status_code == 302, response.text
        assert response.headers["location"].startswith(f"{IDP_BASE}/sso?"), response.headers
        return login, response

    def at_idp(
        self,
        to_idp: httpx.Response,
        *,
        email: str = "alice@example.com",
        scenario: str = "success",
        sign: str = "both",
        groups: str = "engineering,admins",
        attributes: str = "",
    ) -> PostBack:
        """The person logs in at the simulator, which renders its auto-post page."""
        location = urlsplit(to_idp.headers["location"])
        page = self.idp.get(f"{location.path}?{location.query}")
        assert page.status_code == 200, page.text
        form = login_form(
            pending_key(page.text),
            email=email,
            scenario=scenario,
            sign=sign,
            groups=groups,
            attributes=attributes,
        )
        posted = self.idp.post("/sso/login", data=form)
        assert posted.status_code == 200, posted.text
        return autopost(posted.text)

    def post(self, postback: PostBack, *, client: TestClient | None = None) -> httpx.Response:
        """The auto-post arrives at our ACS (cross-site POST from the IdP's page)."""
        response: httpx.Response = (client or self.gatehouse.client).post(
            postback.acs_path, data=postback.fields, follow_redirects=False
        )
        return response

    def replay(self) -> PostBack:
        page = self.idp.get("/replay")
        assert page.status_code == 200, page.text
        return autopost(page.text)

    def login(
        self, email: str = "alice@example.com", scenario: str = "success", **kw: str
    ) -> tuple[Login, httpx.Response]:
        login, to_idp = self.start(email)
        return login, self.post(self.at_idp(to_idp, email=email, scenario=scenario, **kw))

    def code_from(self, back: httpx.Response) -> str:
        assert back.status_code == 302, back.text
        return callback_params(back)["code"]


def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(base_url=IDP_BASE, key_dir=None, allowed_acs_prefixes=(ISSUER,))


def add_saml_connection(
    store: Store,
    *,
    idp_metadata: bytes,
    now: Any,
    org_id: str = ORG_ID,
    name: str = "Example Corp",
    domain: str = "example.com",
    connection_id: str = CONNECTION_ID,
    options: dict[str, object] | None = None,
) -> tuple[Organization, Connection]:
    organization = Organization(id=org_id, name=name, external_id=None, created_at=now)
    config = new_saml_config(
        parse_idp_metadata(idp_metadata),
        box=SecretBox(TEST_SECRET_KEY),
        endpoints=endpoints_for(ISSUER, connection_id, "saml"),
        now=now,
        options=options,
    )
    connection = Connection(
        id=connection_id,
        organization_id=org_id,
        kind="saml",
        name=f"{name} SAML",
        config=config,
        created_at=now,
    )
    with store.unit_of_work() as uow:
        uow.organizations.add(organization)
        uow.domains.add(Domain(organization_id=org_id, name=domain, verified_at=now))
        uow.connections.add(connection)
    return organization, connection


def build_saml_world(store: Store, tmp_path: Any, idp_keys: IdpKeys) -> SamlWorld:
    gatehouse = build_harness(store, tmp_path)
    simulator = create_simulator(
        simulator_config(), keys=idp_keys, clock=lambda: gatehouse.clock.now()
    )
    idp = TestClient(simulator, base_url=IDP_BASE)
    organization, connection = add_saml_connection(
        store, idp_metadata=idp.get("/metadata").content, now=gatehouse.clock.now()
    )
    return SamlWorld(gatehouse=gatehouse, idp=idp, organization=organization, connection=connection)
