"""Behind a real reverse proxy: Debian's nginx in front of the broker under uvicorn, both on
loopback, configured only by the environment (`GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32`,
tiny rate limits). Clients get their own source addresses (127.0.0.2, 127.0.0.3, ...).

nginx appends each connection's address to `X-Forwarded-For`; the broker believes that list
only because the connection comes from 127.0.0.1, the trusted proxy. So: an abuser through
the proxy is limited while another client is not; an abuser forging `X-Forwarded-For` is
counted under its real address; a client connecting to the broker directly cannot choose its
address with the header; and a portal link guesser locks out only itself.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from broker.app import Broker, create_app
from broker.clock import FixedClock
from broker.oidc.clients import register_client
from broker.settings import Settings
from broker.store import Store
from broker.store.sql import SqlStore
from tests.support.config import TEST_SECRET_KEY
from tests.support.factories import add_organization
from tests.support.fake_connector import FakeConnectorConfig
from tests.support.live_server import free_port, serve
from tests.support.nginx import reverse_proxy

pytestmark = pytest.mark.e2e

RP_CALLBACK = "https://rp.test/callback"
ACTOR = "management_client:mc_test"


@dataclass
class ProxiedGatehouse:
    proxy: str  # nginx: the public URL, the issuer
    direct: str  # uvicorn itself, as someone who found its port would reach it
    client_id: str
    broker: Broker
    store: Store
    _clients: ExitStack = field(default_factory=ExitStack)

    def browser(self, address: str, *, direct: bool = False) -> httpx.Client:
        """A client whose connections come from `address`, through the proxy or not."""
        return self._clients.enter_context(
            httpx.Client(
                base_url=self.direct if direct else self.proxy,
                transport=httpx.HTTPTransport(local_address=address),
                timeout=10,
            )
        )

    def authorize_path(self) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": RP_CALLBACK,
            "scope": "openid email",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "login_hint": "ann@acme.test",
            "code_challenge": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()[:43],
            "code_challenge_method": "S256",
        }
        return "/authorize?" + urlencode(params)

    def counts(self, prefix: str) -> dict[str, int]:
        """The shared counters of this minute, by bucket: who the broker thought it was."""
        assert isinstance(self.store, SqlStore)
        with self.store.engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT bucket, count FROM rate_limits")).all()
        return {bucket: count for bucket, count in rows if bucket.startswith(prefix)}


@pytest.fixture
def gatehouse(store: Store, tmp_path: Path) -> Iterator[ProxiedGatehouse]:
    broker_port, proxy_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{proxy_port}"
    settings = Settings.from_env(
        {
            "GATEHOUSE_ISSUER": issuer,
            "GATEHOUSE_VAR_DIR": str(tmp_path),
            "GATEHOUSE_SECRET_KEY": base64.urlsafe_b64encode(TEST_SECRET_KEY).decode(),
            "GATEHOUSE_TRUSTED_PROXIES": "127.0.0.1/32",
            "GATEHOUSE_RATE_LIMIT_AUTHORIZE": "3",
            "GATEHOUSE_RATE_LIMIT_PORTAL_LINK": "3",
        }
    )
    with store.unit_of_work() as uow:
        now = datetime.now(UTC)
        add_organization(
            uow, org_id="org_acme", name="Acme Corp", domain="acme.test", now=now,
            connection_id="con_acme",
        )  # fmt: skip
        registered = register_client(uow, name="Auth0", redirect_uris=[RP_CALLBACK], now=now)
    # A clock that stands still: the test's requests all fall in one window, wherever the
    # wall clock's minute turns.
    app = create_app(
        settings, store=store, clock=FixedClock(), connector_types={"test": FakeConnectorConfig}
    )
    upstream = f"http://127.0.0.1:{broker_port}"
    with serve(app, broker_port), reverse_proxy(upstream, tmp_path / "nginx", port=proxy_port):
        world = ProxiedGatehouse(
            proxy=issuer,
            direct=upstream,
            client_id=registered.client.client_id,
            broker=app.state.broker,
            store=store,
        )
        with world._clients:
            yield world


def test_an_abuser_through_the_proxy_is_limited_and_another_client_is_not(
    gatehouse: ProxiedGatehouse,
) -> None:
    abuser = gatehouse.browser("127.0.0.2")
    statuses = [abuser.get(gatehouse.authorize_path()).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    refused = abuser.get(gatehouse.authorize_path())
    assert refused.headers["retry-after"] == "60"
    assert "Wait a minute" in refused.text
    other = gatehouse.browser("127.0.0.3")
    assert other.get(gatehouse.authorize_path()).status_code == 302
    # Each counted under its own address; the proxy's address counts nothing.
    assert gatehouse.counts("authorize:") == {
        "authorize:127.0.0.2": 5,
        "authorize:127.0.0.3": 1,
    }


def test_an_abuser_forging_x_forwarded_for_is_counted_under_its_real_address(
    gatehouse: ProxiedGatehouse,
) -> None:
    abuser = gatehouse.browser("127.0.0.4")
    forged = ["203.0.113.1", "127.0.0.3", "127.0.0.1, 203.0.113.2", "203.0.113.3"]
    statuses = [
        abuser.get(gatehouse.authorize_path(), headers={"X-Forwarded-For": value}).status_code
        for value in forged
    ]
    assert statuses == [302, 302, 302, 429]
    assert gatehouse.counts("authorize:") == {"authorize:127.0.0.4": 4}
    # The address it named is untouched: that client has its whole budget.
    victim = gatehouse.browser("127.0.0.3")
    assert [victim.get(gatehouse.authorize_path()).status_code for _ in range(3)] == [302] * 3


def test_a_client_connecting_directly_cannot_choose_its_address(
    gatehouse: ProxiedGatehouse,
) -> None:
    direct = gatehouse.browser("127.0.0.5", direct=True)
    statuses = [
        direct.get(
            gatehouse.authorize_path(), headers={"X-Forwarded-For": f"198.51.100.{n}"}
        ).status_code
        for n in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    assert direct.get(gatehouse.authorize_path(),
                      headers={"X-Forwarded-For": "127.0.0.6"}).status_code == 429  # fmt: skip
    assert gatehouse.counts("authorize:") == {"authorize:127.0.0.5": 5}
    # 127.0.0.6, named in the header, was never counted and has its whole budget.
    through_proxy = gatehouse.browser("127.0.0.6")
    assert [through_proxy.get(gatehouse.authorize_path()).status_code for _ in range(3)] == [
        302
    ] * 3


def test_portal_link_redemption_locks_out_only_the_abuser(gatehouse: ProxiedGatehouse) -> None:
    organization = gatehouse.broker.management.organizations.create(ACTOR, name="Acme Corp")
    link = gatehouse.broker.management.portal_links.create(ACTOR, organization.id)
    origin = {"Origin": gatehouse.proxy}
    guesser = gatehouse.browser("127.0.0.7")
    statuses = [
        guesser.post(
            "/portal/link", data={"token": secrets.token_urlsafe(32)}, headers=origin
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [410, 410, 410, 429]
    busy = guesser.post(
        "/portal/link", data={"token": urlsplit(link.url).path.rsplit("/", 1)[1]}, headers=origin
    )
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "60"
    assert "set-cookie" not in busy.headers
    # The admin the link was sent to, at another address behind the same proxy.
    admin = gatehouse.browser("127.0.0.8")
    token = urlsplit(link.url).path.rsplit("/", 1)[1]
    assert admin.get(f"/portal/link/{token}").status_code == 200
    opened = admin.post("/portal/link", data={"token": token}, headers=origin)
    assert opened.status_code == 303
    assert gatehouse.counts("portal-redeem:") == {
        "portal-redeem:127.0.0.7": 5,
        "portal-redeem:127.0.0.8": 1,
    }
