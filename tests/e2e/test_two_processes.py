"""Two Gatehouse processes (real `uvicorn` subprocesses) on one PostgreSQL database, as
behind a load balancer without sticky sessions.

Both are configured with process A's URL as GATEHOUSE_ISSUER (the broker builds every URL
from its configured issuer, never from the Host header), the same secret key and the same
database; the browser sends what the "load balancer" routes to B directly to B's port, with
the same paths.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from broker.app import build_broker
from broker.model.records import AuditEvent
from broker.oidc.clients import register_client
from broker.settings import DatabaseSettings
from broker.store.sql import SqlStore, make_engine
from demo_rp.oidc_client import RelyingParty
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from tests.support import databases
from tests.support.config import RP_CALLBACK, TEST_SECRET_KEY, make_settings
from tests.support.live_server import free_port, serve
from tests.support.processes import BrokerProcess, broker_process, with_search_path
from tests.support.saml_http import (
    EMAIL,
    ORG_NAME,
    SamlBrowser,
    query_params,
    reference_on_page,
    seed_saml_tenant,
)
from tests.support.saml_pages import PostBack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

RACE_ROUNDS = 3


@dataclass
class Cluster:
    a: BrokerProcess
    b: BrokerProcess
    simulator_url: str
    store: SqlStore
    client_id: str
    client_secret: str
    organization_id: str

    @property
    def issuer(self) -> str:
        return self.a.url

    def relying_party(self, http: httpx.Client) -> RelyingParty:
        return RelyingParty(self.issuer, self.client_id, self.client_secret, RP_CALLBACK, http)

    def postback(self, browser: SamlBrowser, rp: RelyingParty) -> PostBack:
        """A login started at A (/authorize on A's port), answered by the simulator."""
        url, _ = rp.start_login(login_hint=EMAIL)
        assert url.startswith(f"{self.a.url}/authorize?"), url
        page = browser.at_idp(url, simulator_url=self.simulator_url)
        postback = browser.log_in(page, simulator_url=self.simulator_url)
        assert postback.acs_url.startswith(f"{self.issuer}/saml/"), postback.acs_url
        return postback

    def audit_for(self, request_id: str) -> list[AuditEvent]:
        with self.store.unit_of_work() as uow:
            events = uow.audit.list(limit=1000, organization_id=self.organization_id)
        return [event for event in events if event.request_id == request_id]


@pytest.fixture(scope="module")
def cluster(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("two-processes")
    with ExitStack() as stack:
        schema = stack.enter_context(databases.throwaway_schema(postgres_url, migrated=True))
        database_url = with_search_path(postgres_url, schema)
        port_a, port_b, simulator_port = free_port(), free_port(), free_port()
        issuer = f"http://127.0.0.1:{port_a}"
        simulator_url = f"http://127.0.0.1:{simulator_port}"
        simulator = create_simulator(
            SimulatorConfig(base_url=simulator_url, key_dir=None, allowed_acs_prefixes=(issuer,))
        )
        stack.enter_context(serve(simulator, simulator_port))

        # Seeded before either process starts, as a deploy job would (keys included).
        engine = make_engine(postgres_url, schema=schema)
        stack.callback(engine.dispose)
        store = SqlStore(engine)
        outbound = stack.enter_context(httpx.Client(timeout=10))
        settings = make_settings(tmp, issuer=issuer, database=DatabaseSettings(url=database_url))
        seeder = build_broker(settings, store=store, http=outbound)
        seeder.keys.ensure_keys()
        organization, _ = seed_saml_tenant(seeder, simulator_url=simulator_url)
        with store.unit_of_work() as uow:
            registered = register_client(
                uow, name="Auth0", redirect_uris=[RP_CALLBACK], now=seeder.clock.now()
            )
        assert registered.client_secret is not None

        env = {
            **os.environ,
            "GATEHOUSE_ENV": "development",
            "GATEHOUSE_ISSUER": issuer,  # both: A's URL is the public one
            "GATEHOUSE_DATABASE_URL": database_url,
            "GATEHOUSE_SECRET_KEY": base64.urlsafe_b64encode(TEST_SECRET_KEY).decode(),
            "GATEHOUSE_VAR_DIR": str(tmp / "var"),
        }
        a = stack.enter_context(broker_process(env, port=port_a, log_dir=tmp))
        b = stack.enter_context(broker_process(env, port=port_b, log_dir=tmp))
        yield Cluster(
            a=a,
            b=b,
            simulator_url=simulator_url,
            store=store,
            client_id=registered.client.client_id,
            client_secret=registered.client_secret,
            organization_id=organization.id,
        )


@pytest.fixture
def browser() -> Iterator[SamlBrowser]:
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        yield SamlBrowser(http)


def test_a_login_started_on_a_finishes_on_b_and_the_code_redeems_on_a(
    cluster: Cluster, browser: SamlBrowser
) -> None:
    with httpx.Client(timeout=10) as rp_http:
        rp = cluster.relying_party(rp_http)
        url, saved = rp.start_login(login_hint=EMAIL)
        page = browser.at_idp(url, simulator_url=cluster.simulator_url)  # /authorize on A
        postback = browser.log_in(page, simulator_url=cluster.simulator_url)
        back = browser.post(postback, url=postback.to(cluster.b.url))  # the ACS on B
        assert back.status_code == 302, back.text
        assert back.headers["location"].startswith(f"{RP_CALLBACK}?")
        # The RP redeems at the token endpoint discovery names: A's.
        assert rp.discover()["token_endpoint"] == f"{cluster.a.url}/token"
        verified = rp.finish_login(query_params(back.headers["location"]), saved)
    claims = verified.id_token_claims
    assert claims["iss"] == cluster.issuer
    assert claims["email"] == EMAIL
    assert claims["organization_name"] == ORG_NAME
    assert claims["idp_type"] == "saml"
    assert verified.userinfo["sub"] == claims["sub"]
    [event] = cluster.audit_for(back.headers["x-request-id"])
    assert event.kind == "login.succeeded"


def post_at_once(
    postback: PostBack, cookies: httpx.Cookies, urls: list[str]
) -> list[httpx.Response]:
    """The same form, with the same cookies, posted to every url at the same moment."""
    barrier = threading.Barrier(len(urls))
    responses: list[httpx.Response | None] = [None] * len(urls)

    def post(index: int, url: str) -> None:
        with httpx.Client(timeout=30, cookies=cookies, follow_redirects=False) as http:
            request = http.build_request("POST", url, data=postback.fields)
            barrier.wait()
            responses[index] = http.send(request)

    threads = [threading.Thread(target=post, args=(i, url)) for i, url in enumerate(urls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in responses), "a request did not finish"
    return [r for r in responses if r is not None]


@pytest.mark.parametrize("round_", range(RACE_ROUNDS))
def test_one_response_posted_to_both_processes_at_once_is_accepted_once(
    cluster: Cluster, browser: SamlBrowser, round_: int
) -> None:
    with httpx.Client(timeout=10) as rp_http:
        postback = cluster.postback(browser, cluster.relying_party(rp_http))
    responses = post_at_once(
        postback, browser.http.cookies, [postback.to(cluster.a.url), postback.to(cluster.b.url)]
    )
    won = [r for r in responses if r.status_code == 302]
    lost = [r for r in responses if r.status_code != 302]
    assert len(won) == 1, [(r.status_code, r.text[:200]) for r in responses]
    assert "code" in query_params(won[0].headers["location"])
    [refused] = lost
    assert refused.status_code == 400, refused.text
    assert "location" not in refused.headers
    reference = reference_on_page(refused)
    [success] = cluster.audit_for(won[0].headers["x-request-id"])
    [failure] = cluster.audit_for(reference)
    assert success.kind == "login.succeeded"
    assert failure.kind == "login.failed"
    assert failure.reason in {"replayed", "flow_expired", "answer_already_used"}, failure.reason
