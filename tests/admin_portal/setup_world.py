"""The setup assistant's world: the portal in process, the IdP simulator beside it, and a
real DNS server on loopback.

Gatehouse's outbound client (IdP metadata by URL, OIDC discovery, JWKS, the token
endpoint) reaches the simulator at `idp.example.test`; any other host fails to connect, as
an unreachable one does. The admin's browser is a TestClient on the broker (the portal is
mounted at /portal); the simulator's pages get their own TestClient, as another site.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.testclient import TestClient

from broker.app import Broker, create_app
from broker.clock import FixedClock
from broker.management.dns_txt import DnsTxtLookup
from broker.management.profiles import ProfileFields
from broker.model.records import AuditEvent, Connection, Organization
from broker.model.vendors import STRATEGIES
from broker.store import Store
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys, generate
from tests.support.certificates import certificate_and_key
from tests.support.config import ISSUER, make_settings
from tests.support.dns_server import Zone, dns_server
from tests.support.portal_world import ACTOR, csrf_token
from tests.support.saml_pages import autopost, hidden_fields, login_form

IDP_BASE = "https://idp.example.test"
IDP_METADATA_URL = f"{IDP_BASE}/metadata"
OP_ISSUER = f"{IDP_BASE}/oidc"
OP_CLIENT_ID = "gatehouse-portal-test"
OP_CLIENT_SECRET = "simulator-portal-secret-not-a-real-one"
ORIGIN = {"Origin": ISSUER}


@functools.cache
def idp_keys() -> IdpKeys:
    """The simulator's keys: generated once per test session (RSA is the slow part)."""
    return generate()


def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(
        base_url=IDP_BASE,
        key_dir=None,
        allowed_acs_prefixes=(ISSUER,),
        oidc_client_id=OP_CLIENT_ID,
        oidc_client_secret=OP_CLIENT_SECRET,
    )


def back_channel(simulator: TestClient) -> httpx.Client:
    """Gatehouse's outbound client: the simulator's host reaches it, any other fails."""

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


@dataclass
class SetupWorld:
    store: Store
    clock: FixedClock
    broker: Broker
    app: Any
    idp: TestClient
    zone: Zone
    #: The portal links made so far, oldest first (an event's actor names one).
    link_ids: list[str] = field(default_factory=list)

    # -- the app team's side ----------------------------------------------------------

    def organization(self, name: str = "Acme Corp") -> Organization:
        return self.broker.management.organizations.create(ACTOR, name=name)

    def link(self, organization_id: str, **options: Any) -> str:
        issued = self.broker.management.portal_links.create(ACTOR, organization_id, **options)
        self.link_ids.append(issued.link.id)
        return issued.url

    def profile(self, **fields: Any) -> str:
        created = self.broker.management.profiles.create(
            ACTOR, ProfileFields(name="Customers", **fields)
        )
        return created.id

    def begin(self, organization_id: str, strategy: str, protocol: str) -> Connection:
        """A connection begun as the choose step begins it (for tests of later steps)."""
        return self.broker.management.connection_setup.begin(
            ACTOR, organization_id, strategy=strategy, protocol=protocol, offered=STRATEGIES
        )

    # -- the admin's browser ----------------------------------------------------------

    def signed_in(self, organization_id: str, **link_options: Any) -> TestClient:
        browser = TestClient(self.app, base_url=ISSUER, raise_server_exceptions=False)
        page = browser.get(urlsplit(self.link(organization_id, **link_options)).path)
        token = hidden_fields(page.text)["token"]
        opened = browser.post(
            "/portal/link", data={"token": token}, headers=ORIGIN, follow_redirects=False
        )
        assert opened.status_code == 303, opened.text
        return browser

    def connection(self, connection_id: str) -> Connection:
        with self.store.unit_of_work() as uow:
            return uow.connections.get(connection_id)

    def connections(self, organization_id: str) -> list[Connection]:
        with self.store.unit_of_work() as uow:
            return list(uow.connections.for_organization(organization_id))

    def events(self, organization_id: str) -> list[AuditEvent]:
        with self.store.unit_of_work() as uow:
            return list(uow.audit.list(limit=1000, organization_id=organization_id))

    def metadata(self) -> bytes:
        document: bytes = self.idp.get("/metadata").content
        return document

    def verified_domain(self, organization_id: str, name: str = "acme.example") -> None:
        """An operator's assertion (the CLI's): for tests whose subject is not DNS."""
        self.broker.management.domains.add(ACTOR, organization_id, name)
        self.broker.management.domains.mark_verified(ACTOR, organization_id, name)

    # -- a real test login, as the admin runs it from the test step ---------------------

    def test_login(self, browser: TestClient, connection_id: str, **idp_form: str) -> str:
        """Start the test from the test step's form, sign in at the simulator, come back:
        the path of the result page the IdP's answer leads to."""
        page = browser.get(f"/portal/setup/{connection_id}/test")
        assert page.status_code == 200, page.text
        started = browser.post(
            f"/portal/connections/{connection_id}/test",
            data={"csrf": csrf_token(page.text)},
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert started.status_code == 303, started.text
        location = urlsplit(started.headers["location"])
        login_page = self.idp.get(f"{location.path}?{location.query}")
        assert login_page.status_code == 200, login_page.text
        fields = login_form(
            hidden_fields(login_page.text)["pending"], email="alice@acme.example", **idp_form
        )
        if location.path.startswith("/oidc/"):
            fields.pop("sign")
            sent = self.idp.post("/oidc/login", data=fields, follow_redirects=False)
            assert sent.status_code == 302, sent.text
            back = urlsplit(sent.headers["location"])
            result = browser.get(f"{back.path}?{back.query}", follow_redirects=False)
        else:
            sent = self.idp.post("/sso/login", data=fields)
            postback = autopost(sent.text)
            result = browser.post(postback.acs_path, data=postback.fields, follow_redirects=False)
        assert result.status_code == 303, result.text
        result_page: str = result.headers["location"]
        return urlsplit(result_page).path


@contextmanager
def setup_world(
    store: Store, tmp_path: Path, *, simulator_base: str = IDP_BASE
) -> Iterator[SetupWorld]:
    """`simulator_base`: the simulator's own idea of its base URL, from which it names its
    entity ID (`<base>/metadata`, its Responses' Issuer); it is still reached at IDP_BASE.
    A test of hostile IdP values gives one that holds markup (T-10)."""
    clock = FixedClock()
    config = dataclasses.replace(simulator_config(), base_url=simulator_base)
    simulator = create_simulator(config, keys=idp_keys(), clock=clock.now)
    with dns_server() as (zone, nameserver):
        outbound = back_channel(TestClient(simulator, base_url=IDP_BASE))
        app = create_app(
            make_settings(tmp_path),
            store=store,
            clock=clock,
            http=outbound,
            dns=DnsTxtLookup(nameserver, lifetime=1.0),
        )
        try:
            yield SetupWorld(
                store=store,
                clock=clock,
                broker=app.state.broker,
                app=app,
                idp=TestClient(simulator, base_url=IDP_BASE),
                zone=zone,
            )
        finally:
            app.state.broker.close()
            outbound.close()


# -- certificates for the refusals ------------------------------------------------------


def certificate(
    *, not_after: datetime, common_name: str = "Old IdP", key_size: int = 2048
) -> tuple[str, str]:
    """(certificate PEM, its private key PEM): a self-signed RSA certificate valid for the
    year before `not_after`."""
    return certificate_and_key(
        not_after=not_after,
        subject=common_name,
        not_before=not_after - timedelta(days=365),
        key_size=key_size,
    )


EXPIRED_ON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
