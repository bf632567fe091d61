"""One customer's slow IdP cannot stall another customer (issue 12 item 1), over real HTTP:
Gatehouse under uvicorn on loopback, Example Labs on the IdP simulator's OpenID Provider, and
"Slow Corp" on an OpenID Provider whose token endpoint drips its answer a byte at a time
(bench/slow_idp.py), each a real server.

The login pool is deliberately small (four threads) and Slow Corp's users outnumber it: with
per-connection bulkheads, Slow Corp holds at most its two slots and Example Labs signs in
while Slow Corp's users are still held; without them, Slow Corp's users take every thread
and Example Labs waits behind them. The order of events (Example Labs done before any held
Slow Corp user got an answer) is what is asserted, not how long anything took.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bench.slow_idp import Behaviour, SlowIdp, running
from broker.app import Broker, create_app
from broker.demo import demo_oidc_client_secret, seed_example_labs_with, simulator_environment
from broker.model.records import AuditEvent, Domain, Organization
from broker.oidc.clients import register_client
from broker.settings import UpstreamSettings
from broker.store.sql import SqlStore
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from tests.support import databases
from tests.support.config import make_settings
from tests.support.live_server import free_port, serve
from tests.support.oidc_http import OidcBrowser, redirect_target
from tests.support.saml_http import query_params
from tests.support.scenario_checks import back_to_client

pytestmark = pytest.mark.e2e

RP_CALLBACK = "http://127.0.0.1:9/callback"  # never followed: the code is read from Location
DEADLINE = 4.0
UPSTREAM = UpstreamSettings(
    deadline_seconds=DEADLINE,
    min_bytes_per_second=1,  # only the deadline ends a drip here
    max_in_flight=2,
    max_waiting=0,  # refused at once, so the count of refusals is exact
    breaker_failures=3,
    breaker_open_seconds=600,
    login_threads=4,
)
UNREACHABLE = "Your identity provider cannot be reached"


@dataclass
class World:
    issuer: str
    simulator_url: str
    slow: SlowIdp
    store: SqlStore
    client_id: str
    client_secret: str
    labs_connection: str
    slow_connection: str
    slow_organization: str

    def authorize_url(self, login_hint: str) -> str:
        params = {
            "client_id": self.client_id,
            "redirect_uri": RP_CALLBACK,
            "response_type": "code",
            "scope": "openid email",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "login_hint": login_hint,
        }
        return f"{self.issuer}/authorize?{urlencode(params)}"

    def events(self, connection_id: str) -> list[AuditEvent]:
        with self.store.unit_of_work() as uow:
            events = uow.audit.list(limit=1000)
        return [e for e in events if e.connection_id == connection_id]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("isolation")
    with ExitStack() as stack:
        engine = stack.enter_context(databases.sqlite_copy(sqlite_template, tmp)).engine
        store = SqlStore(engine)
        broker_port, simulator_port = free_port(), free_port()
        issuer, simulator_url = (
            f"http://127.0.0.1:{broker_port}",
            f"http://127.0.0.1:{simulator_port}",
        )
        settings = make_settings(tmp, issuer=issuer, upstream=UPSTREAM)
        environment = simulator_environment(settings, simulator_url=simulator_url)
        stack.enter_context(
            serve(create_simulator(SimulatorConfig.from_env(environment)), simulator_port)
        )
        slow = stack.enter_context(running(Behaviour(mode="drip", drip_seconds=0.5)))
        gatehouse = create_app(settings, store=store)
        broker: Broker = gatehouse.state.broker
        stack.callback(broker.close)
        stack.enter_context(serve(gatehouse, broker_port))
        labs = seed_example_labs_with(
            broker, simulator_url=simulator_url, client_secret=demo_oidc_client_secret(settings)
        )
        slow_connection = _slow_corp(broker, slow.issuer)
        with store.unit_of_work() as uow:
            client = register_client(
                uow, name="RP", redirect_uris=[RP_CALLBACK], now=broker.clock.now()
            )
        assert client.client_secret is not None
        yield World(
            issuer=issuer,
            simulator_url=simulator_url,
            slow=slow,
            store=store,
            client_id=client.client.client_id,
            client_secret=client.client_secret,
            labs_connection=labs.id,
            slow_connection=slow_connection,
            slow_organization=_SLOW_ORG,
        )


_SLOW_ORG = "org_slow_corp"


def _slow_corp(broker: Broker, issuer: str) -> str:
    now = broker.clock.now()
    with broker.store.unit_of_work() as uow:
        uow.organizations.add(Organization(id=_SLOW_ORG, name="Slow Corp", created_at=now))
        uow.domains.add(Domain(organization_id=_SLOW_ORG, name="slow.example", verified_at=now))
    saved = broker.management.connections.create_oidc(
        "test", _SLOW_ORG, {"issuer": issuer, "client_id": "gatehouse"}, client_secret="s3cret"
    )
    return saved.connection.id


def labs_login(world: World) -> None:
    """A whole Example Labs login through the simulator, ending with Gatehouse's tokens."""
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        browser = OidcBrowser(http)
        page = browser.at_simulator(
            world.authorize_url("alice@example.org"), simulator_url=world.simulator_url
        )
        callback = browser.log_in(page, simulator_url=world.simulator_url)
        code = query_params(redirect_target(http.get(callback), RP_CALLBACK))["code"]
        tokens = http.post(
            f"{world.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": RP_CALLBACK,
                "client_id": world.client_id,
                "client_secret": world.client_secret,
            },
        )
        assert tokens.status_code == 200, tokens.text
        assert "id_token" in tokens.json()


class Timeline:
    """What happened, in the order it happened (across threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[object] = []

    def mark(self, what: object) -> None:
        with self._lock:
            self.entries.append(what)


@dataclass
class SlowUser:
    """A Slow Corp user whose IdP sent them back with a code: the callback makes Gatehouse
    redeem it at the dripping token endpoint."""

    world: World
    timeline: Timeline = field(default_factory=Timeline)
    started: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    response: httpx.Response | None = None

    def run(self) -> None:
        with httpx.Client(timeout=60, follow_redirects=False) as http:
            handed_off = http.get(self.world.authorize_url("bob@slow.example"))
            if handed_off.status_code != 302:  # refused before the person left Gatehouse
                self.response = handed_off
                self.started.set()
                self.answered.set()
                return
            at_idp = redirect_target(handed_off, f"{self.world.slow.issuer}/authorize?")
            state = query_params(at_idp)["state"]
            callback = (
                f"{self.world.issuer}/oidc/{self.world.slow_connection}/callback?"
                + urlencode({"code": "a-code", "state": state})
            )
            self.started.set()
            self.response = http.get(callback)
            self.timeline.mark(self)
            self.answered.set()


def start(users: list[SlowUser]) -> list[threading.Thread]:
    threads = [threading.Thread(target=user.run, daemon=True) for user in users]
    for thread in threads:
        thread.start()
    return threads


def reason_of(world: World, response: httpx.Response) -> str | None:
    request_id = response.headers["x-request-id"]
    found = [e for e in world.events(world.slow_connection) if e.request_id == request_id]
    assert len(found) == 1, found
    return found[0].reason


def test_a_dripping_idp_holds_only_its_own_users(world: World) -> None:
    # One hand-off first: Gatehouse reads Slow Corp's discovery document once (it answers
    # that at once), so the burst below waits on the token endpoint only.
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        redirect_target(http.get(world.authorize_url("bob@slow.example")), world.slow.issuer)
    timeline = Timeline()
    users = [SlowUser(world, timeline) for _ in range(6)]
    threads = start(users)
    for user in users:
        assert user.started.wait(30)
    # Wait until Slow Corp's callbacks are at its IdP (the dripping token endpoint).
    for _ in range(300):
        if world.slow.held >= 2:
            break
        threading.Event().wait(0.02)
    assert world.slow.held >= 2

    for _ in range(3):
        labs_login(world)
    assert httpx.get(f"{world.issuer}/.well-known/openid-configuration").status_code == 200
    assert httpx.get(f"{world.issuer}/jwks.json").status_code == 200
    timeline.mark("example labs done")

    for thread in threads:
        thread.join(60)
    reasons = []
    for user in users:
        assert user.response is not None
        assert user.response.status_code == 502
        assert UNREACHABLE in user.response.text
        reasons.append(reason_of(world, user.response))
    # Two waited at the IdP until the deadline; the others were refused at once, and never
    # reached it.
    assert reasons.count("token_endpoint_unavailable") == 2
    assert reasons.count("idp_busy") == 4
    assert world.slow.most_held == 2
    assert world.slow.token_requests == 2
    # Example Labs signed in three times (its codes redeemed at /token), and discovery and
    # JWKS answered, while the two held Slow Corp users were still waiting on their IdP.
    held = [u for u, r in zip(users, reasons, strict=True) if r == "token_endpoint_unavailable"]
    done = timeline.entries.index("example labs done")
    assert all(timeline.entries.index(u) > done for u in held), timeline.entries


def test_an_idp_that_keeps_failing_is_not_asked_again_for_a_while(world: World) -> None:
    before = world.slow.token_requests
    failures = [
        e for e in world.events(world.slow_connection) if e.reason == "token_endpoint_unavailable"
    ]
    # Enough failures in a row to open the circuit (three; the first test made two).
    for _ in range(max(0, UPSTREAM.breaker_failures - len(failures))):
        user = SlowUser(world)
        user.run()
        assert user.response is not None
        assert user.response.status_code == 502
    opened = [e for e in world.events(world.slow_connection) if e.kind == "connection.unreachable"]
    assert len(opened) == 1
    assert opened[0].organization_id == world.slow_organization
    assert "did not answer within 4 s" in str(opened[0].detail["problem"])

    asked = world.slow.token_requests
    user = SlowUser(world)
    user.run()
    # Refused at Gatehouse, before being sent to log in at an IdP whose answer could not be
    # redeemed; and the IdP was not asked again.
    assert user.response is not None
    assert user.response.status_code == 502
    assert user.response.url.path == "/authorize"
    assert UNREACHABLE in user.response.text
    assert reason_of(world, user.response) == "idp_circuit_open"
    assert world.slow.token_requests == asked > before
    labs_login(world)  # and Example Labs is untouched


def test_the_page_names_no_internal_detail(world: World) -> None:
    user = SlowUser(world)
    user.run()
    assert user.response is not None
    text = user.response.text
    # The one address on it is the button's, back to the relying party with the error.
    back = back_to_client(text)
    assert back is not None
    assert back.startswith(f"{RP_CALLBACK}?error=temporarily_unavailable&")
    text = text.replace(html.escape(back), "")
    assert not re.search(r"127\.0\.0\.1|token_endpoint|circuit|Traceback", text)
    assert f"<code>{user.response.headers['x-request-id']}</code>" in text
