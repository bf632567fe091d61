"""`/metrics` (broker/metrics/, broker/web/metrics.py): real logins through the SAML and
OIDC worlds counted by protocol, outcome and reason, each step's latency, requests to IdPs
by connection and outcome, rate-limit refusals, purged rows, the database pool read at
scrape time; the bearer token; the separate listener; and label values that never carry
what a request chose (an email, the IdP's own error code).

The scrapes are parsed with prometheus_client's parser, as Prometheus would read them.
Metrics are process-wide: each test compares a scrape after its requests with one before.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy.pool import QueuePool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from broker.app import create_app, create_app_from_env
from broker.clock import FixedClock
from broker.errors import ConfigError
from broker.metrics.exposition import Exposition, PoolUse
from broker.metrics.listener import MetricsListener
from broker.model.reasons import Reason
from broker.settings import MetricsSettings, Settings
from broker.settings_rate_limits import RATE_LIMIT_VARIABLES, RateLimitSettings
from broker.store import Store
from broker.store.purge import PurgeCounts, Purger
from broker.store.sql import SqlStore
from broker.store.sql.pool import pool_use, watch_pool
from broker.upstream import outbound
from broker.upstream.bulkhead import BulkheadLimits, Bulkheads
from broker.upstream.errors import UpstreamUnavailable
from broker.upstream.outbound import OutboundError, OutboundPolicy
from idp_simulator.keys import IdpKeys, generate
from tests.support.config import ISSUER, TEST_SECRET_KEY, make_settings
from tests.support.databases import Database
from tests.support.expiring import IDLE, NOW, RETENTION, TICK, flow
from tests.support.harness import build_harness
from tests.support.live_server import free_port, serve
from tests.support.metrics_scrape import (
    AUTHORIZATION,
    TOKEN,
    Scrape,
    change,
    scrape,
    scraper,
)
from tests.support.oidc_world import CONNECTION_ID as OIDC_CONNECTION, OidcWorld, build_oidc_world
from tests.support.saml_world import SamlWorld, build_saml_world
from tests.support.unreachable import refusing_port, silent_port

LOGINS = "gatehouse_logins_total"
STEPS = "gatehouse_login_step_seconds_count"
IDP = "gatehouse_idp_requests_total"


@pytest.fixture(scope="module")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def metrics(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with scraper(store, tmp_path) as client:
        yield client


@pytest.fixture
def saml(store: Store, tmp_path: Path, idp_keys: IdpKeys) -> Iterator[SamlWorld]:
    world = build_saml_world(store, tmp_path, idp_keys)
    with world.gatehouse.client, world.idp:
        yield world


@pytest.fixture
def oidc(store: Store, tmp_path: Path, idp_keys: IdpKeys) -> Iterator[OidcWorld]:
    world = build_oidc_world(store, tmp_path, idp_keys)
    with world.gatehouse.client, world.idp:
        yield world


# -- logins -------------------------------------------------------------------------------


def test_a_saml_login_is_one_success_and_one_of_each_step(
    saml: SamlWorld, metrics: TestClient
) -> None:
    before = scrape(metrics)
    login, back = saml.login()
    token = saml.gatehouse.redeem(saml.code_from(back), verifier=login.verifier)
    assert token.status_code == 200, token.text
    after = scrape(metrics)
    assert change(before, after, LOGINS, protocol="saml", outcome="success", reason="none") == 1
    steps = ("authorize", "login", "callback", "token")
    # The hint routes at once: no email page was posted.
    assert [change(before, after, STEPS, step=s) for s in steps] == [1, 0, 1, 1]
    # Every step's series exists, and the buckets run from 5 ms to 10 s.
    assert after.value("gatehouse_login_step_seconds_bucket", step="login", le="0.005") == (
        before.value("gatehouse_login_step_seconds_bucket", step="login", le="0.005")
    )
    assert after.value("gatehouse_login_step_seconds_bucket", step="token", le="10.0") >= 1


def test_an_oidc_login_counts_its_requests_to_the_idp(oidc: OidcWorld, metrics: TestClient) -> None:
    """Discovery, the token endpoint and the JWKS, each a request through the outbound guard,
    counted for the connection whose slot it ran in."""
    before = scrape(metrics)
    _, back = oidc.login()
    oidc.code_from(back)
    after = scrape(metrics)
    assert change(before, after, LOGINS, protocol="oidc", outcome="success", reason="none") == 1
    assert change(before, after, IDP, connection=OIDC_CONNECTION, outcome="ok") >= 3
    assert change(before, after, IDP, connection=OIDC_CONNECTION, outcome="error") == 0


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [("wrong-audience", Reason.WRONG_AUDIENCE), ("status-authn-failed", Reason.IDP_REFUSED)],
)
def test_a_refused_saml_login_is_counted_with_its_reason(
    saml: SamlWorld, metrics: TestClient, scenario: str, reason: Reason
) -> None:
    """The IdP's own status code (`idp_refused:…Responder / AuthnFailed`) is in the audit
    event, never in a label: it is the IdP's to choose."""
    before = scrape(metrics)
    _, back = saml.login(scenario=scenario)
    assert back.status_code in (400, 403), back.text
    after = scrape(metrics)
    assert change(before, after, LOGINS, protocol="saml", outcome="refused", reason=reason) == 1
    assert change(before, after, LOGINS, protocol="saml", outcome="success", reason="none") == 0
    assert not [v for v in after.label_values() if ":" in v]


def test_an_idp_refusal_over_oidc_is_idp_refused_without_the_idps_code(
    oidc: OidcWorld, metrics: TestClient
) -> None:
    before = scrape(metrics)
    _, back = oidc.login(scenario="access-denied")
    assert back.status_code in (400, 403), back.text
    after = scrape(metrics)
    refused = {"protocol": "oidc", "outcome": "refused"}
    assert change(before, after, LOGINS, **refused, reason="idp_refused") == 1
    assert "access_denied" not in set(after.label_values())


def test_an_answer_for_no_connection_is_a_refusal_of_no_protocol(
    store: Store, metrics: TestClient
) -> None:
    before = scrape(metrics)
    answer = metrics.post("/saml/con_nobody/acs", data={"SAMLResponse": "x", "RelayState": "y"})
    assert answer.status_code == 404, answer.text
    after = scrape(metrics)
    refused = {"protocol": "unknown", "outcome": "refused", "reason": "unknown_connection"}
    assert change(before, after, LOGINS, **refused) == 1
    assert "con_nobody" not in set(after.label_values())


@pytest.mark.parametrize(
    ("protocol", "emails", "refusal"),
    [
        ("saml", ["alice@example.com", "expired@example.com"], "expired"),
        ("oidc", ["alice@example.org", "nonce-mismatch@example.org"], "nonce-mismatch"),
    ],
)
def test_no_label_value_carries_an_email(
    request: pytest.FixtureRequest,
    metrics: TestClient,
    protocol: str,
    emails: list[str],
    refusal: str,
) -> None:
    """Logins by email, succeeded and refused, and a hint for a domain nobody claimed: the
    addresses reach the log and the audit trail, never a label."""
    world: SamlWorld | OidcWorld = request.getfixturevalue(protocol)
    before = scrape(metrics)
    world.login(emails[0])
    world.login(emails[1], scenario=refusal)
    unrouted = world.gatehouse.authorize(world.gatehouse.new_login(login_hint="x@nowhere.test"))
    assert "no single sign-on set up for nowhere.test" in unrouted.text
    after = scrape(metrics)
    assert change(before, after, LOGINS, protocol=protocol, outcome="success", reason="none") == 1
    values = set(after.label_values())
    assert not [v for v in values if "@" in v]
    # Nor a part of one (a refusal's local part names its scenario, which may be a reason).
    assert not values & {"alice", "nowhere.test", *(e.split("@")[1] for e in emails)}


# -- the token ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer"],
)
def test_metrics_on_the_main_listener_require_the_token(
    metrics: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    refused = metrics.get("/metrics", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "gatehouse" not in refused.text


def test_the_token_is_a_bearer_token_whatever_the_schemes_case(metrics: TestClient) -> None:
    assert metrics.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    answer = metrics.get("/metrics", headers=AUTHORIZATION)
    assert answer.headers["cache-control"] == "no-store"


def test_without_a_token_metrics_are_not_on_the_main_listener(saml: SamlWorld) -> None:
    for headers in ({}, AUTHORIZATION):
        assert saml.gatehouse.client.get("/metrics", headers=headers).status_code == 404


def test_scrapes_are_neither_rate_limited_nor_a_login_step(store: Store, tmp_path: Path) -> None:
    """Every limit at one request a minute: the scrapes go on, and count in no step."""
    tiny = RateLimitSettings(**dict.fromkeys(RATE_LIMIT_VARIABLES.values(), 1))
    settings = make_settings(tmp_path, rate_limits=tiny, metrics=MetricsSettings(token=TOKEN))
    with TestClient(create_app(settings, store=store), base_url=ISSUER) as client:
        before = scrape(client)
        for _ in range(5):
            after = scrape(client)
    assert all(change(before, after, STEPS, step=s) == 0 for s in ("authorize", "token"))
    assert after.value("gatehouse_rate_limited_total", route="authorize") == before.value(
        "gatehouse_rate_limited_total", route="authorize"
    )


# -- rate limits, purge, pool ---------------------------------------------------------------


def test_rate_limit_refusals_are_counted_by_route_and_not_timed(
    store: Store, tmp_path: Path, metrics: TestClient
) -> None:
    gatehouse = build_harness(
        store, tmp_path, rate_limits=RateLimitSettings(authorize=1, token_per_address=1)
    )
    before = scrape(metrics)
    for _ in range(3):
        gatehouse.authorize(gatehouse.new_login())
        gatehouse.client.post("/token", data={"grant_type": "authorization_code", "code": "x"})
    after = scrape(metrics)
    assert change(before, after, "gatehouse_rate_limited_total", route="authorize") == 2
    assert change(before, after, "gatehouse_rate_limited_total", route="token") == 2
    assert change(before, after, STEPS, step="authorize") == 1
    assert change(before, after, STEPS, step="token") == 1


def test_purged_rows_are_counted_by_table(store: Store, metrics: TestClient) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow("dead-1", expires_at=NOW))
        uow.flows.create(flow("dead-2", expires_at=NOW))
        uow.flows.create(flow("live", expires_at=NOW + TICK))
    purger = Purger(store=store, clock=FixedClock(NOW), retention=RETENTION, portal_idle=IDLE)
    before = scrape(metrics)
    purger.purge()
    after = scrape(metrics)
    assert change(before, after, "gatehouse_purged_rows_total", table="flows") == 2
    # Every table's series exists once a purge ran, at what it deleted (here nothing).
    assert change(before, after, "gatehouse_purged_rows_total", table="audit_events") == 0
    assert {
        s.labels["table"] for s in after.samples if s.name == "gatehouse_purged_rows_total"
    } == set(PurgeCounts().as_dict())


def test_the_database_pool_is_read_at_scrape_time(store: SqlStore, metrics: TestClient) -> None:
    """Units of work held open while the scrape runs: one more than the pool's size is an
    overflow connection."""
    pool = store.engine.pool
    assert isinstance(pool, QueuePool)
    idle = scrape(metrics)
    assert idle.value("gatehouse_db_pool_size") == pool.size() == 10
    assert idle.value("gatehouse_db_pool_checked_out") == 0
    assert idle.value("gatehouse_db_pool_overflow") == 0
    with ExitStack() as held:
        for _ in range(pool.size() + 1):
            held.enter_context(store.unit_of_work())
        busy = scrape(metrics)
    assert busy.value("gatehouse_db_pool_checked_out") == pool.size() + 1
    assert busy.value("gatehouse_db_pool_overflow") == 1
    after = scrape(metrics)
    assert (
        after.value("gatehouse_db_pool_checked_out")
        == after.value("gatehouse_db_pool_overflow")
        == 0
    )


def test_a_worker_publishes_its_pool_as_it_will_be_after_each_checkout_and_checkin(
    store: SqlStore,
) -> None:
    """Among several workers no scrape can read this process's pool, so it publishes on
    every change; a checkin is published as the pool will be once it took the connection
    back (the eleventh, an overflow one, is then closed)."""
    published: list[PoolUse | None] = []
    watch_pool(store.engine, published.append)
    with ExitStack() as held:
        for _ in range(11):
            held.enter_context(store.unit_of_work())
        assert published[-1] == PoolUse(checked_out=11, size=10, overflow=1)
        assert pool_use(store.engine) == published[-1]
    assert published[-1] == PoolUse(checked_out=0, size=10, overflow=0)
    assert pool_use(store.engine) == published[-1]
    counts = [use.checked_out for use in published if use]
    assert counts == [*range(1, 12), *range(10, -1, -1)]


# -- requests to IdPs -----------------------------------------------------------------------


def test_bulkhead_and_circuit_refusals_are_counted_for_their_connection(
    metrics: TestClient,
) -> None:
    bulkheads = Bulkheads(BulkheadLimits(max_in_flight=1, max_waiting=0, failures_to_open=1))
    before = scrape(metrics)
    with (
        bulkheads.slot("con_busy"),
        pytest.raises(UpstreamUnavailable) as busy,
        bulkheads.slot("con_busy"),
    ):
        pytest.fail("admitted past the limit")
    assert busy.value.reason is Reason.IDP_BUSY
    with pytest.raises(UpstreamUnavailable), bulkheads.slot("con_down"):
        raise UpstreamUnavailable(Reason.JWKS_UNAVAILABLE, detail="the IdP is down")
    with pytest.raises(UpstreamUnavailable) as before_the_hand_off:
        bulkheads.refuse_while_open("con_down")
    with pytest.raises(UpstreamUnavailable) as in_the_slot, bulkheads.slot("con_down"):
        pytest.fail("admitted while the circuit is open")
    assert before_the_hand_off.value.reason is in_the_slot.value.reason is Reason.IDP_CIRCUIT_OPEN
    after = scrape(metrics)
    assert change(before, after, IDP, connection="con_busy", outcome="bulkhead_full") == 1
    assert change(before, after, IDP, connection="con_down", outcome="circuit_open") == 2


def _answering(status: int) -> Starlette:
    async def answer(request: Request) -> Response:
        return PlainTextResponse("{}", status_code=status)

    return Starlette(routes=[Route("/doc", answer)])


def test_requests_are_counted_by_outcome_for_the_slot_they_run_in(metrics: TestClient) -> None:
    """Real sockets on loopback: an answer, a server error, a server that never answers, a
    port that refuses; an admin's setup fetch counts as `setup`, never its organization."""
    policy = OutboundPolicy.for_environment(production=False, deadline_seconds=0.3)
    bulkheads = Bulkheads()
    before = scrape(metrics)
    with ExitStack() as stack:
        client = stack.enter_context(outbound.make_client(policy))
        ok = stack.enter_context(serve(_answering(200), free_port()))
        failing = stack.enter_context(serve(_answering(503), free_port()))
        silent = stack.enter_context(silent_port())
        refusing = stack.enter_context(refusing_port())

        def fetch(url: str, key: str | None) -> None:
            with ExitStack() as slot:
                if key is not None:
                    slot.enter_context(bulkheads.slot(key))
                outbound.get(client, url, policy=policy, max_bytes=100)

        fetch(f"{ok}/doc", "con_fine")
        fetch(f"{ok}/doc", None)
        for url, key in [
            (f"{failing}/doc", "con_fine"),
            (f"http://127.0.0.1:{silent}/doc", "con_slow"),
            (f"http://127.0.0.1:{refusing}/doc", "setup:org_secret"),
        ]:
            with pytest.raises(OutboundError):
                fetch(url, key)
    after = scrape(metrics)
    assert change(before, after, IDP, connection="con_fine", outcome="ok") == 1
    assert change(before, after, IDP, connection="none", outcome="ok") == 1
    assert change(before, after, IDP, connection="con_fine", outcome="error") == 1
    assert change(before, after, IDP, connection="con_slow", outcome="timeout") == 1
    assert change(before, after, IDP, connection="setup", outcome="error") == 1
    assert not [v for v in after.label_values() if "org_secret" in v]


# -- the separate listener ------------------------------------------------------------------


def test_the_separate_listener_serves_metrics_and_nothing_else(store: SqlStore) -> None:
    listener = MetricsListener(("127.0.0.1", 0), Exposition.of_app(partial(pool_use, store.engine)))
    listener.start()
    try:
        url = f"http://127.0.0.1:{listener.port}"
        answer = httpx.get(f"{url}/metrics")  # no token: the address is the protection
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        scraped = Scrape.parse(answer.text)
        assert scraped.value("gatehouse_db_pool_size") == 10
        assert any(s.name == "gatehouse_login_step_seconds_count" for s in scraped.samples)
        assert httpx.get(f"{url}/metrics?name[]=x").status_code == 200
        for path in ("/", "/healthz", "/metrics/", "/authorize", "/favicon.ico"):
            assert httpx.get(f"{url}{path}").status_code == 404, path
        assert httpx.post(f"{url}/metrics").status_code == 501
    finally:
        listener.stop()


def test_a_listen_address_that_is_taken_is_refused_by_its_variable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as refused:
            MetricsListener(("127.0.0.1", port), Exposition.of_app(None)).start()
    assert refused.value.field == "GATEHOUSE_METRICS_LISTEN"
    assert refused.value.message == f"cannot listen on 127.0.0.1:{port}: Address already in use"


def test_a_single_process_starts_its_listener_with_its_app(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sqlite_database: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`uvicorn --factory broker.app:create_app_from_env`, or `gatehouse serve` with one
    worker: the app's own process listens, and its scrape reads that app's pool."""
    port = free_port()
    for name, value in {
        "GATEHOUSE_VAR_DIR": str(tmp_path),
        "GATEHOUSE_DATABASE_URL": sqlite_database.url,
        "GATEHOUSE_SECRET_KEY": base64.urlsafe_b64encode(TEST_SECRET_KEY).decode(),
        "GATEHOUSE_METRICS_LISTEN": f"127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app_from_env()
    listener = app.state.metrics_listener
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert answer.status_code == 200
        assert "gatehouse_db_pool_size" in answer.text
        # A second process on the same address stops at start-up, in one line.
        with pytest.raises(SystemExit) as exited:
            create_app_from_env()
        assert exited.value.code == 1
        assert capsys.readouterr().err == (
            "Error: configuration: GATEHOUSE_METRICS_LISTEN: cannot listen on "
            f"127.0.0.1:{port}: Address already in use\n"
        )
    finally:
        listener.stop()
        app.state.broker.close()


# -- settings -----------------------------------------------------------------------------


def test_the_settings_read_both_ways_of_exposing_metrics(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "GATEHOUSE_VAR_DIR": str(tmp_path),
            "GATEHOUSE_METRICS_TOKEN": f"  {TOKEN}  ",
            "GATEHOUSE_METRICS_LISTEN": "[::1]:9464",
        }
    )
    assert settings.metrics == MetricsSettings(token=TOKEN, listen=("::1", 9464))
    assert TOKEN not in repr(settings)
    assert Settings.from_env({"GATEHOUSE_VAR_DIR": str(tmp_path)}).metrics == MetricsSettings()


LISTEN = "expected host:port, such as 127.0.0.1:9464 or [::1]:9464"
TOKEN_RULE = (
    "must be at least 16 printable ASCII characters without spaces; generate one with "
    '`python -c "import secrets; print(secrets.token_urlsafe(32))"`'
)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("GATEHOUSE_METRICS_TOKEN", "short", TOKEN_RULE),
        ("GATEHOUSE_METRICS_TOKEN", "sixteen chars but spaces", TOKEN_RULE),
        ("GATEHOUSE_METRICS_TOKEN", "ünicode-ünicode-ünicode", TOKEN_RULE),
        ("GATEHOUSE_METRICS_LISTEN", "9464", LISTEN),
        ("GATEHOUSE_METRICS_LISTEN", "127.0.0.1", LISTEN),
        ("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:0", LISTEN),
        ("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:65536", LISTEN),
        ("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:9464/metrics", LISTEN),
        ("GATEHOUSE_METRICS_LISTEN", "user@127.0.0.1:9464", LISTEN),
        ("GATEHOUSE_METRICS_LISTEN", "[::1:9464", LISTEN),
    ],
)
def test_a_metrics_setting_that_cannot_work_is_refused_by_its_variable(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"GATEHOUSE_VAR_DIR": str(tmp_path), variable: value})
    assert (refused.value.field, refused.value.message) == (variable, expected)
