"""The production guide's deployment, outside a container: two `gatehouse serve` processes
on one PostgreSQL database behind nginx terminating TLS (a certificate from a test CA the
clients trust), configured only by the environment variables the README's "Running in
production" section names, the IdP simulator as every user's SAML IdP.

Browsers (each from 127.0.0.2, so the proxy's `X-Forwarded-For` is what tells Gatehouse who
they are) and a relying party run complete logins through nginx, which spreads them round
robin over both instances without sticky sessions. Mid-run one instance is killed
(SIGKILL: no shutdown, as a crashed machine). The other keeps serving, and every login ends
either verified (code redeemed, ID token checked) or on a `502` for a POST the killed
instance had received when it died. nginx passes a request on to the next instance when the
dead one refuses the connection (any method: nothing was sent) and when an idempotent
request was cut off mid-way (GET, HEAD); a POST already sent is not passed on, since the
dead instance may have acted on it (an ACS post that consumed the SAMLResponse, a code
redeemed at /token): so at most one login per browser, the one whose POST was in flight at
the kill, fails, and it fails visibly (the person starts again; Auth0 shows its error).

`GATEHOUSE_ENV` stays `development` here, the one difference from the guide: production
refuses requests to an IdP on loopback over plain HTTP, where this test's simulator listens.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from broker.app import build_broker
from broker.oidc.clients import register_client
from broker.settings import Settings
from broker.store.sql import SqlStore, make_engine
from demo_rp.errors import LoginFailed
from demo_rp.oidc_client import RelyingParty
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from tests.support import databases
from tests.support.config import RP_CALLBACK, TEST_SECRET_KEY
from tests.support.live_server import free_port, serve
from tests.support.nginx import load_balancer
from tests.support.private_ca import private_ca
from tests.support.processes import BrokerProcess, gatehouse, gatehouse_serve, with_search_path
from tests.support.saml_http import EMAIL, SamlBrowser, query_params, seed_saml_tenant

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
BROWSERS = 4  # logins under way at once, each its own browser
LOGINS_BEFORE_KILL = 12
LOGINS_AFTER_KILL = 16
BROWSER_ADDRESS = "127.0.0.2"
RELYING_PARTY_ADDRESS = "127.0.0.3"  # Auth0's back channel: discovery, /token, /userinfo
#: Every variable the fixture sets: those the production guide tells operators to set.
GUIDE_VARIABLES = (
    "GATEHOUSE_ENV",
    "GATEHOUSE_ISSUER",
    "GATEHOUSE_DATABASE_URL",
    "GATEHOUSE_SECRET_KEY",
    "GATEHOUSE_VAR_DIR",
    "GATEHOUSE_TRUSTED_PROXIES",
    "GATEHOUSE_FORWARDED_HEADER",
    "GATEHOUSE_LOG_FORMAT",
)
RUN_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Hop:
    """One request through the proxy: which instances nginx sent it to (`X-Upstream`)."""

    method: str
    path: str
    status: int
    upstreams: tuple[str, ...]


@dataclass
class Login:
    hops: list[Hop] = field(default_factory=list)
    verified: bool = False
    error: str = ""

    def record(self, response: httpx.Response) -> None:
        upstream = response.headers.get("x-upstream")
        if upstream is not None:  # the simulator's answers carry none
            self.hops.append(
                Hop(
                    method=response.request.method,
                    path=response.request.url.path,
                    status=response.status_code,
                    upstreams=tuple(part.strip() for part in upstream.split(",")),
                )
            )


@dataclass
class Deployment:
    proxy: str
    simulator: str
    a: BrokerProcess
    b: BrokerProcess
    client_id: str
    client_secret: str
    store: SqlStore
    trust: ssl.SSLContext  # the test CA, which issued the proxy's certificate

    def log_in(self) -> Login:
        """One complete login, as Auth0 and a person's browser make it, every hop to
        Gatehouse through the proxy."""
        login = Login()
        hooks = {"response": [login.record]}
        with (
            httpx.Client(
                timeout=10,
                transport=httpx.HTTPTransport(local_address=BROWSER_ADDRESS, verify=self.trust),
                event_hooks=hooks,
            ) as browser_http,
            httpx.Client(
                timeout=10,
                transport=httpx.HTTPTransport(
                    local_address=RELYING_PARTY_ADDRESS, verify=self.trust
                ),
                event_hooks=hooks,
            ) as rp_http,
        ):
            rp = RelyingParty(self.proxy, self.client_id, self.client_secret, RP_CALLBACK, rp_http)
            browser = SamlBrowser(browser_http)
            try:
                url, saved = rp.start_login(login_hint=EMAIL)
                page = browser.at_idp(url, simulator_url=self.simulator)
                postback = browser.log_in(page, simulator_url=self.simulator)
                back = browser.post(postback)
                assert back.status_code == 302, back.status_code
                verified = rp.finish_login(query_params(back.headers["location"]), saved)
            except (AssertionError, LoginFailed, httpx.HTTPError) as error:
                login.error = repr(error)
                return login
        assert verified.id_token_claims["email"] == EMAIL
        assert verified.id_token_claims["iss"] == self.proxy
        login.verified = True
        return login


def address(process: BrokerProcess) -> str:
    return process.url.removeprefix("http://")


def get(url: str, trust: ssl.SSLContext) -> httpx.Response:
    return httpx.get(url, timeout=5, verify=trust)


@pytest.fixture
def deployment(postgres_url: str, tmp_path: Path) -> Iterator[Deployment]:
    with ExitStack() as stack:
        schema = stack.enter_context(databases.throwaway_schema(postgres_url, migrated=False))
        proxy_port, port_a, port_b, simulator_port = (free_port() for _ in range(4))
        proxy = f"https://127.0.0.1:{proxy_port}"
        ca = private_ca("Gatehouse test CA")
        trust = ssl.create_default_context(cadata=ca.pem)
        simulator = f"http://127.0.0.1:{simulator_port}"
        # What the production guide has every instance set, and nothing else.
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")},
            "GATEHOUSE_ENV": "development",  # production needs https (see the docstring)
            "GATEHOUSE_ISSUER": proxy,
            "GATEHOUSE_DATABASE_URL": with_search_path(postgres_url, schema),
            "GATEHOUSE_SECRET_KEY": base64.urlsafe_b64encode(TEST_SECRET_KEY).decode(),
            "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
            "GATEHOUSE_TRUSTED_PROXIES": "127.0.0.1/32",
            "GATEHOUSE_FORWARDED_HEADER": "X-Forwarded-For",
            "GATEHOUSE_LOG_FORMAT": "json",
        }
        assert sorted(name for name in env if name.startswith("GATEHOUSE_")) == sorted(
            GUIDE_VARIABLES
        )
        gatehouse(env, "migrate")  # once, before any instance starts

        stack.enter_context(
            serve(
                create_simulator(
                    SimulatorConfig(base_url=simulator, key_dir=None, allowed_acs_prefixes=(proxy,))
                ),
                simulator_port,
            )
        )
        # The tenant and Auth0's client, as an operator's CLI or the management API would
        # have made them: in the same database, before the instances start.
        engine = make_engine(postgres_url, schema=schema)
        stack.callback(engine.dispose)
        store = SqlStore(engine)
        outbound = stack.enter_context(httpx.Client(timeout=10))
        seeder = build_broker(Settings.from_env(env), store=store, http=outbound)
        seed_saml_tenant(seeder, simulator_url=simulator)
        with store.unit_of_work() as uow:
            registered = register_client(
                uow, name="Auth0", redirect_uris=[RP_CALLBACK], now=seeder.clock.now()
            )
        assert registered.client_secret is not None

        a = stack.enter_context(gatehouse_serve(env, port=port_a, workers=1, log_dir=tmp_path))
        b = stack.enter_context(gatehouse_serve(env, port=port_b, workers=1, log_dir=tmp_path))
        balancer = load_balancer(
            [address(a), address(b)],
            tmp_path / "nginx",
            port=proxy_port,
            tls=ca.issue_server_certificate("127.0.0.1"),
        )
        assert stack.enter_context(balancer) == proxy
        yield Deployment(
            proxy=proxy,
            simulator=simulator,
            a=a,
            b=b,
            client_id=registered.client.client_id,
            client_secret=registered.client_secret,
            store=store,
            trust=trust,
        )


class Stream:
    """`BROWSERS` browsers each logging in again and again until told to stop."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.logins: list[Login] = []
        self._threads = [threading.Thread(target=self._run) for _ in range(BROWSERS)]

    def __enter__(self) -> Stream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=RUN_TIMEOUT_S)

    def _run(self) -> None:
        while not self._stop.is_set():
            login = self._deployment.log_in()
            with self._lock:
                self.logins.append(login)

    def finished(self) -> list[Login]:
        with self._lock:
            return list(self.logins)

    def wait_for(self, count: int, deadline: float) -> None:
        while len([login for login in self.finished() if login.verified]) < count:
            assert time.monotonic() < deadline, [login.error for login in self.finished()]
            time.sleep(0.02)


def served_by(logins: list[Login]) -> set[str]:
    return {upstream for login in logins for hop in login.hops for upstream in hop.upstreams}


@pytest.mark.postgres
def test_logins_go_on_when_one_instance_dies(deployment: Deployment) -> None:
    for instance in (deployment.a, deployment.b):
        assert get(f"{instance.url}/readyz", deployment.trust).status_code == 200
    deadline = time.monotonic() + RUN_TIMEOUT_S
    with Stream(deployment) as stream:
        stream.wait_for(LOGINS_BEFORE_KILL, deadline)
        before = stream.finished()
        os.kill(deployment.b.popen.pid, signal.SIGKILL)
        deployment.b.popen.wait(timeout=10)
        stream.wait_for(len(before) + LOGINS_AFTER_KILL, deadline)
    logins = stream.finished()
    a, b = address(deployment.a), address(deployment.b)

    # Round robin, no sticky sessions: both instances served the logins before the kill.
    assert served_by(before) == {a, b}
    assert all(login.verified for login in before), [login.error for login in before]

    # Every login that failed did so on a POST the killed instance had received: a 502 from
    # nginx, sent to B alone (nginx does not pass a POST on once it was sent).
    failed = [login for login in logins if not login.verified]
    for login in failed:
        last = login.hops[-1]
        assert (last.method, last.status, last.upstreams) == ("POST", 502, (b,)), login
    # At most one per browser: the request it had in flight at the kill.
    assert len(failed) <= BROWSERS, [login.error for login in failed]
    assert len([login for login in logins[len(before) :] if login.verified]) >= LOGINS_AFTER_KILL

    # nginx found B dead on the first request it sent there after the kill: refused (or cut
    # off, if a GET) and passed on to A, or a POST B had received, answered 502.
    hops = [hop for login in logins[len(before) :] for hop in login.hops]
    noticed = [hop for hop in hops if hop.upstreams == (b, a) or hop.status == 502]
    assert noticed, hops
    # The survivor serves alone: once nginx saw B refuse, nothing more went to B.
    last_logins = [login for login in logins if login.verified][-BROWSERS:]
    assert served_by(last_logins) == {a}
    assert get(f"{deployment.proxy}/readyz", deployment.trust).status_code == 200

    # Each client was counted under its own address, which only the proxy's X-Forwarded-For
    # gave the instances, in the counters they share; the proxy's address counts nothing.
    with deployment.store.engine.connect() as connection:
        buckets = set(connection.execute(sa.text("SELECT bucket FROM rate_limits")).scalars())
    assert {f"authorize:{BROWSER_ADDRESS}", f"token-address:{RELYING_PARTY_ADDRESS}"} <= buckets
    assert not [bucket for bucket in buckets if bucket.endswith(":127.0.0.1")], buckets


def test_the_production_guide_names_every_variable_this_deployment_sets() -> None:
    guide = production_guide()
    assert [name for name in GUIDE_VARIABLES if f"`{name}" not in guide] == []


def production_guide() -> str:
    """The README's "Running in production" section, up to the next section of its level."""
    text = README.read_text()
    match = re.search(r"^## Running in production\n(.*?)(?=^## )", text, re.M | re.S)
    assert match is not None, "README has no 'Running in production' section"
    return match.group(1)
