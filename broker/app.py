"""The composition root: the only place concrete classes are chosen and wired.

`create_app(settings, ...)` builds a fresh broker per call (tests build one per test with
overrides; dex `newTestServer`). Nothing here is a module-level singleton.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from admin_portal.app import create_portal
from admin_portal.sessions import IDLE_TTL as PORTAL_IDLE_TTL, RedeemLimits
from broker import logs, tracing
from broker.clock import Clock, SystemClock
from broker.directory.service import DirectoryScim
from broker.errors import ConfigError, UserFacingError
from broker.jobs.scheduler import Scheduler
from broker.jobs.wiring import build_scheduler
from broker.keys import KeyManager, SecretBox
from broker.limiter import RateLimiter
from broker.login.replays import StoreReplayGuard
from broker.login.service import LoginService
from broker.management import Management, ManagementDeps
from broker.management.access import AccessTokens
from broker.management.api import build_operations
from broker.management.api.dispatch import ManagementApi
from broker.management.api.events import event_out
from broker.management.certificate_use import CertificateUseLog
from broker.management.connection_health import ConnectionHealth
from broker.management.dns_txt import DnsTxtLookup, TxtLookup
from broker.metrics.exposition import (
    Exposition,
    forget_this_process,
    publish_pool,
    shared_directory,
)
from broker.metrics.listener import MetricsListener
from broker.model.client_address import TrustedProxies
from broker.oidc.provider import Provider
from broker.readiness import Readiness
from broker.settings import Settings
from broker.store import Store, StoreUnavailable
from broker.store.purge import Purger
from broker.store.sql import SqlStore, make_engine
from broker.store.sql.pool import pool_use, watch_pool
from broker.upstream.base import ConnectorDeps
from broker.upstream.bulkhead import BulkheadLimits, Bulkheads
from broker.upstream.oidc import OidcConnectionConfig
from broker.upstream.outbound import OutboundPolicy, make_client
from broker.upstream.registry import ConnectorCache, ConnectorTypes
from broker.upstream.saml import SamlConnectionConfig
from broker.web.adapt import make_templates
from broker.web.endpoints import Endpoints
from broker.web.lifespan import Job, background_lifespan
from broker.web.limits import RouteLimits
from broker.web.management import ApiEndpoints
from broker.web.metrics import MetricsEndpoint
from broker.web.middleware import SecurityHeadersMiddleware, scrub_link_tokens_from_access_logs
from broker.web.routes import build_routes
from broker.web.scim import ScimEndpoints
from broker.webhooks.worker import WebhookWorker
from broker.workers import LoginPool

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "web" / "templates"
_CLOCK_SKEW = timedelta(minutes=2)

#: Connector kinds shipped with Gatehouse.
DEFAULT_CONNECTOR_TYPES: ConnectorTypes = {
    SamlConnectionConfig.kind: SamlConnectionConfig,
    OidcConnectionConfig.kind: OidcConnectionConfig,
}


@dataclass(frozen=True, slots=True)
class Broker:
    """The wired core, for callers that are not HTTP (the CLI, tests, benchmarks)."""

    settings: Settings
    store: Store
    keys: KeyManager
    secrets: SecretBox
    provider: Provider
    login: LoginService
    http: httpx.Client
    #: What `http` may reach (IdP metadata, discovery, JWKS, token endpoints).
    outbound: OutboundPolicy
    clock: Clock
    management: Management
    access_tokens: AccessTokens
    #: This process's per-connection limits and circuit breakers toward IdPs.
    bulkheads: Bulkheads
    #: Deletes what has expired; the app's lifespan runs it periodically.
    purger: Purger
    #: The request counters every instance shares (rate limits, sampled refusals).
    limiter: RateLimiter
    #: The scheduled jobs (broker.jobs); the app's lifespan ticks it.
    scheduler: Scheduler
    #: Delivers the outbox's events to webhook endpoints; the app's lifespan runs it.
    webhooks: WebhookWorker
    #: This instance's opened connectors; the lifespan renews their IdP documents ahead.
    connectors: ConnectorCache
    #: Closes the database connections of a store `build_broker` opened itself (a store
    #: handed in stays its owner's).
    release_store: Callable[[], None] = lambda: None

    def close(self) -> None:
        """Release the outbound HTTP pool and the pooled database connections (CLI commands,
        seeds and benchmarks build a broker briefly; on PostgreSQL an engine dropped without
        this leaves its connections open until the garbage collector finds them)."""
        self.webhooks.close()
        self.http.close()
        self.release_store()

    def background_jobs(self) -> dict[str, tuple[Job, timedelta]]:
        """What every instance runs beside serving (and `gatehouse worker` instead of it)."""
        retention = self.settings.retention
        return {
            "purge": (lambda stop: self.purger.purge(stop=stop), retention.purge_interval),
            "jobs": (self.scheduler.run_due, self.settings.jobs.tick),
            "webhooks": (lambda stop: self.webhooks.run(stop), retention.webhook_interval),
            "refresh_ahead": (self.connectors.refresh_ahead, self.settings.jobs.tick),
        }


def open_store(settings: Settings) -> SqlStore:
    """The store `GATEHOUSE_DATABASE_URL` names, unchecked (`gatehouse migrate` opens a
    database without a schema). A URL that cannot work is a configuration error naming
    the variable."""
    try:
        return SqlStore(make_engine(settings.database.url))
    except ValueError as exc:
        raise ConfigError("GATEHOUSE_DATABASE_URL", str(exc)) from None


def build_broker(
    settings: Settings,
    *,
    store: Store | None = None,
    http: httpx.Client | None = None,
    clock: Clock | None = None,
    connector_types: ConnectorTypes | None = None,
    dns: TxtLookup | None = None,
) -> Broker:
    clock = clock or SystemClock()
    release_store: Callable[[], None] = _nothing
    if store is None:
        opened = open_store(settings)
        store, release_store = opened, opened.engine.dispose
    tokens = settings.tokens
    secrets = SecretBox(settings.secret_key, settings.old_secret_keys)
    keys = KeyManager(
        store,
        secrets,
        clock,
        # A retired key stays published while anything it signed can still be valid.
        retire_after=max(tokens.id_token_ttl, tokens.access_token_ttl) + _CLOCK_SKEW,
    )
    provider = Provider(
        issuer=settings.issuer, store=store, signer=keys, clock=clock, tokens=tokens
    )
    upstream = settings.upstream
    policy = OutboundPolicy.for_environment(
        production=settings.is_production,
        extra_networks=settings.upstream_allowed_networks,
        deadline_seconds=upstream.deadline_seconds,
        min_bytes_per_second=upstream.min_bytes_per_second,
        ca_certificates=upstream.ca_certificates,
    )
    bulkheads = Bulkheads(
        BulkheadLimits(
            max_in_flight=upstream.max_in_flight,
            max_waiting=upstream.max_waiting,
            failures_to_open=upstream.breaker_failures,
            open_for_seconds=upstream.breaker_open_seconds,
        ),
        listener=ConnectionHealth(store, clock),
    )
    deps = ConnectorDeps(
        http=http or make_client(policy),
        clock=clock,
        secrets=secrets,
        replays=StoreReplayGuard(store, clock),
        outbound=policy,
        bulkheads=bulkheads,
        certificate_use=CertificateUseLog(store, clock),
    )
    connectors = ConnectorCache(
        DEFAULT_CONNECTOR_TYPES if connector_types is None else connector_types,
        deps,
        issuer=settings.issuer,
    )
    limiter = RateLimiter(store=store, clock=clock)
    dns = dns or _dns_lookup(settings)
    login = LoginService(
        issuer=settings.issuer,
        limiter=limiter,
        provider=provider,
        store=store,
        connectors=connectors,
        clock=clock,
        flow_ttl_seconds=int(tokens.flow_ttl.total_seconds()),
        portal_url=settings.management.portal_url or f"{settings.issuer}/portal",
    )
    management = Management(
        ManagementDeps(
            issuer=settings.issuer,
            store=store,
            clock=clock,
            secrets=secrets,
            http=deps.http,
            outbound=policy,
            dns=dns,
            production=settings.is_production,
            portal_url=settings.management.portal_url or f"{settings.issuer}/portal",
            bulkheads=bulkheads,
        )
    )
    return Broker(
        settings=settings,
        management=management,
        access_tokens=AccessTokens(issuer=settings.issuer, keys=keys, store=store, clock=clock),
        store=store,
        keys=keys,
        secrets=secrets,
        provider=provider,
        login=login,
        http=deps.http,
        outbound=policy,
        clock=clock,
        bulkheads=bulkheads,
        purger=Purger(
            store=store, clock=clock, retention=settings.retention, portal_idle=PORTAL_IDLE_TTL
        ),
        limiter=limiter,
        scheduler=build_scheduler(
            settings.jobs,
            store=store,
            clock=clock,
            dns=dns,
            bulkheads=bulkheads,
            http=deps.http,
            policy=policy,
        ),
        webhooks=build_webhook_worker(
            store=store, clock=clock, secrets=secrets, http=deps.http, policy=policy
        ),
        connectors=connectors,
        release_store=release_store,
    )  # fmt: skip


def _nothing() -> None:
    """A store handed to `build_broker` is released by whoever opened it."""


def build_webhook_worker(
    *, store: Store, clock: Clock, secrets: SecretBox, http: httpx.Client, policy: OutboundPolicy
) -> WebhookWorker:
    """The webhook worker, sending each event as the events API renders it (one shape for
    an app that reads events by polling and by webhook)."""
    return WebhookWorker(
        store=store, clock=clock, secret_box=secrets, http=http, policy=policy,
        render=lambda event: event_out(event).model_dump(mode="json"),
    )  # fmt: skip


def _dns_lookup(settings: Settings) -> DnsTxtLookup:
    try:
        return DnsTxtLookup(settings.management.dns_resolver)
    except ValueError as exc:
        raise ConfigError("GATEHOUSE_DNS_RESOLVER", str(exc)) from None


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    http: httpx.Client | None = None,
    clock: Clock | None = None,
    connector_types: ConnectorTypes | None = None,
    dns: TxtLookup | None = None,
) -> Starlette:
    """The broker as an ASGI app. Refuses to start (`StoreUnavailable`, one line saying
    what to do) unless the database is reachable and at the schema this code needs, before
    anything touches a table."""
    broker = build_broker(
        settings, store=store, http=http, clock=clock, connector_types=connector_types, dns=dns
    )
    exposition = _metrics_exposition(broker.store)
    try:
        broker.store.check()
    except StoreUnavailable:
        broker.close()
        raise
    broker.keys.ensure_keys()
    logs.install()  # values from requests and IdPs cannot forge or flood a log line
    tracing.configure_from_environment()  # GATEHOUSE_OTEL=1 with the `otel` extra
    scrub_link_tokens_from_access_logs()  # the server logs the portal link's path (T-05)
    if not settings.is_production:
        log.warning(
            "Gatehouse is running in DEVELOPMENT mode (issuer %s): http loopback URLs are "
            "allowed and the secret key may be a generated one.",
            settings.issuer,
        )
    templates = make_templates(TEMPLATES_DIR)
    # Who the client is, and how often it may come: one rule and one set of counters for
    # the broker's routes, the management API and the portal.
    proxies = TrustedProxies(networks=settings.proxies.trusted, header=settings.proxies.header)
    limiter = broker.limiter
    limits = settings.rate_limits
    endpoints = Endpoints(
        issuer=settings.issuer,
        proxies=proxies,
        limits=RouteLimits(limiter=limiter, settings=limits),
        provider=broker.provider,
        access_tokens=broker.access_tokens,
        login=broker.login,
        templates=templates,
        login_pool=LoginPool(settings.upstream.login_threads),
        readiness=Readiness(store=broker.store, keys=broker.keys),
    )
    api = ApiEndpoints(
        issuer=settings.issuer,
        proxies=proxies,
        api=ManagementApi(
            tokens=broker.access_tokens,
            store=broker.store,
            clock=broker.clock,
            limiter=limiter,
            requests_per_minute=settings.management.requests_per_minute,
        ),
        operations=build_operations(broker.management),
        templates=templates,
    )
    portal = create_portal(
        base_url=settings.management.portal_url or f"{settings.issuer}/portal",
        management=broker.management,
        store=broker.store,
        clock=broker.clock,
        secure=settings.issuer.startswith("https://"),
        start_test=broker.login.start_test,
        limiter=limiter,
        redeem_limits=RedeemLimits(per_address=limits.portal_link, everyone=limits.portal_link_all),
        proxies=proxies,
    )
    scim_endpoints = ScimEndpoints(
        issuer=settings.issuer,
        proxies=proxies,
        scim=DirectoryScim(
            store=broker.store,
            clock=broker.clock,
            limiter=limiter,
            auth_failures=limits.scim_auth_failures,
        ),
    )
    token = settings.metrics.token
    metrics = MetricsEndpoint(token=token, exposition=exposition) if token else None
    app = Starlette(
        routes=build_routes(
            endpoints, api, portal, metrics.scrape if metrics else None, scim=scim_endpoints
        ),
        lifespan=background_lifespan(broker.background_jobs(), at_shutdown=forget_this_process),
        middleware=[Middleware(SecurityHeadersMiddleware, hsts=settings.is_production)],
        exception_handlers={
            UserFacingError: endpoints.user_facing_error,
            HTTPException: endpoints.http_error,
            Exception: endpoints.server_error,
        },
    )
    app.state.broker = broker
    app.state.metrics = exposition
    return app


def _metrics_exposition(store: Store) -> Exposition:
    """What `/metrics` answers for this app: the SQL store's pool is read at scrape time, or,
    in a worker among several, published on every checkout and checkin for the others'
    scrapes to add up (`broker.metrics.exposition`)."""
    if not isinstance(store, SqlStore):
        return Exposition.of_app(None)
    if shared_directory() is not None:
        watch_pool(store.engine, publish_pool)
    return Exposition.of_app(partial(pool_use, store.engine))


def listen_for_metrics(app: Starlette, settings: Settings) -> MetricsListener | None:
    """The separate metrics listener of a single process (`GATEHOUSE_METRICS_LISTEN`). A
    worker among several starts none: `gatehouse serve` runs one for all of them."""
    address = settings.metrics.listen
    if address is None or shared_directory() is not None:
        return None
    listener = MetricsListener(address, app.state.metrics)
    listener.start()
    return listener


def create_app_from_env() -> Starlette:
    """Factory for ASGI servers (`uvicorn --factory broker.app:create_app_from_env`), so
    several workers each build their own app from the same environment.

    Configuration that cannot work, or a database that cannot serve, ends the process
    with one line on stderr and status 1, as `gatehouse` commands do: an ASGI server
    would print a traceback for any other exception from its factory."""
    try:
        settings = Settings.from_env()
        app = create_app(settings)
        app.state.metrics_listener = listen_for_metrics(app, settings)
        return app
    except ConfigError as exc:
        problem = f"configuration: {exc}"
    except StoreUnavailable as exc:
        problem = str(exc)
    sys.stderr.write(f"Error: {problem}\n")
    raise SystemExit(1)
