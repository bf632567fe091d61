"""Gatehouse and the IdP simulator's SAML IdP, in process, with a browser that carries
cookies between them: the relying party's /authorize, the simulator's SSO and login form,
its auto-post to our ACS, and back to the relying party. Example Corp (example.com) logs in
through a SAML connection configured from the simulator's metadata."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from starlette.testclient import TestClient

from broker.keys import SecretBox
from broker.model.records import Connection, Organization
from broker.store import Store
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.urls import endpoints_for
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_saml_config
from tests.support.factories import add_organization
from tests.support.harness import Login

# PostBack is part of the world's API (tests build their own from one it returned).
from tests.support.saml_pages import PostBack as PostBack
from tests.support.simulator import IDP_BASE, SimulatorWorld, arrive, saml_answer, with_simulator
from tests.support.simulator_moves import saml_replay

ORG_ID = "org_example"
CONNECTION_ID = "con_example_saml"


@dataclass
class SamlWorld(SimulatorWorld):
    email = "alice@example.com"
    handoff = f"{IDP_BASE}/sso?"

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
        return saml_answer(
            self.idp, to_idp, email=email, scenario=scenario, sign=sign, groups=groups,
            attributes=attributes,
        )  # fmt: skip

    def post(self, postback: PostBack, *, client: TestClient | None = None) -> httpx.Response:
        """The auto-post arrives at our ACS (cross-site POST from the IdP's page)."""
        return arrive(client or self.gatehouse.client, postback)

    def replay(self) -> PostBack:
        return saml_replay(self.idp, IDP_BASE)

    def login(
        self, email: str = "alice@example.com", scenario: str = "success", **kw: str
    ) -> tuple[Login, httpx.Response]:
        login, to_idp = self.start(email)
        return login, self.post(self.at_idp(to_idp, email=email, scenario=scenario, **kw))


def add_saml_connection(
    store: Store,
    *,
    idp_metadata: bytes,
    now: datetime,
    org_id: str = ORG_ID,
    name: str = "Example Corp",
    domain: str = "example.com",
    connection_id: str = CONNECTION_ID,
    options: dict[str, object] | None = None,
) -> tuple[Organization, Connection]:
    config = new_saml_config(
        parse_idp_metadata(idp_metadata),
        box=SecretBox(TEST_SECRET_KEY),
        endpoints=endpoints_for(ISSUER, connection_id, "saml"),
        now=now,
        options=options,
    )
    with store.unit_of_work() as uow:
        return add_organization(
            uow, org_id=org_id, name=name, domain=domain, now=now, connection_id=connection_id,
            kind="saml", config=config, connection_name=f"{name} SAML",
        )  # fmt: skip


def build_saml_world(store: Store, tmp_path: Any, idp_keys: IdpKeys) -> SamlWorld:
    gatehouse, simulator = with_simulator(store, tmp_path, idp_keys)
    idp = simulator.browser()
    organization, connection = add_saml_connection(
        store, idp_metadata=idp.get("/metadata").content, now=gatehouse.clock.now()
    )
    return SamlWorld(gatehouse=gatehouse, idp=idp, organization=organization, connection=connection)
