"""Gatehouse and the IdP simulator's OpenID Provider, in process: the relying party's
/authorize, the simulator's login form, its redirect to our callback, and back to the relying
party. Example Labs (example.org) logs in through an OIDC connection to the simulator's OP;
Gatehouse's own outbound client (discovery, JWKS, token, userinfo) reaches the simulator
too, so every byte of the back channel is the simulator's real answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.testclient import TestClient

from broker.keys import SecretBox
from broker.store import Store
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_oidc_config
from tests.support.factories import add_organization
from tests.support.harness import Login

# The OP's values are part of the world's API (tests compare what they were told with them).
from tests.support.simulator import (
    IDP_BASE,
    OP_CLIENT_ID as OP_CLIENT_ID,
    OP_CLIENT_SECRET,
    OP_ISSUER as OP_ISSUER,
    SimulatorWorld,
    arrive,
    oidc_answer,
    with_simulator,
)
from tests.support.simulator_moves import oidc_replay

ORG_ID = "org_labs"
CONNECTION_ID = "con_labs_oidc"
EMAIL = "alice@example.org"


@dataclass
class OidcWorld(SimulatorWorld):
    email = EMAIL
    handoff = f"{OP_ISSUER}/authorize?"

    def at_idp(
        self,
        to_idp: httpx.Response,
        *,
        email: str = EMAIL,
        scenario: str = "success",
        **fields: str,
    ) -> str:
        """The person logs in at the simulator; returns where it sends the browser."""
        return oidc_answer(self.idp, to_idp, email=email, scenario=scenario, **fields)

    def back(self, callback_url: str, *, client: TestClient | None = None) -> httpx.Response:
        """The browser arrives at Gatehouse's redirect URI."""
        assert callback_url.startswith(f"{ISSUER}/oidc/{CONNECTION_ID}/callback?"), callback_url
        return arrive(client or self.gatehouse.client, callback_url)

    def replay(self) -> str:
        return oidc_replay(self.idp, IDP_BASE)

    def login(self, email: str = EMAIL, scenario: str = "success") -> tuple[Login, httpx.Response]:
        login, to_idp = self.start(email)
        return login, self.back(self.at_idp(to_idp, email=email, scenario=scenario))


def build_oidc_world(store: Store, tmp_path: Any, idp_keys: IdpKeys) -> OidcWorld:
    gatehouse, simulator = with_simulator(store, tmp_path, idp_keys)
    config = new_oidc_config(
        {"issuer": OP_ISSUER, "client_id": OP_CLIENT_ID},
        box=SecretBox(TEST_SECRET_KEY),
        connection_id=CONNECTION_ID,
        client_secret=OP_CLIENT_SECRET,
    )
    with store.unit_of_work() as uow:
        organization, connection = add_organization(
            uow, org_id=ORG_ID, name="Example Labs", domain="example.org",
            now=gatehouse.clock.now(), connection_id=CONNECTION_ID, kind="oidc", config=config,
            connection_name="Example Labs OIDC",
        )  # fmt: skip
    return OidcWorld(
        gatehouse=gatehouse,
        idp=simulator.browser(),
        organization=organization,
        connection=connection,
    )
