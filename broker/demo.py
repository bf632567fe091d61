"""`make run`: seed the demo and run every party as its own process on 127.0.0.1.

The demo relying party plays Auth0's part. It runs as a separate process talking to the
broker over real HTTP, exactly as Auth0 would, so what a developer clicks through is the
real protocol.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import click
import httpx

from broker.app import Broker, build_broker
from broker.clock import SystemClock
from broker.management.access import register_management_client
from broker.management.errors import InvalidInput, ManagementError
from broker.model.management import ORDINARY_SCOPES
from broker.model.opaque import new_id
from broker.model.records import Connection, Domain, Organization
from broker.oidc.clients import register_client
from broker.settings import Settings
from broker.store import AlreadyExists, NotFound
from broker.upstream.urls import endpoints_for

DEMO_CLIENT_ID = "gatehouse-demo"
DEMO_ORG_EXTERNAL_ID = "example-corp"
DEMO_ORG_NAME = "Example Corp"
DEMO_DOMAIN = "example.com"
DEMO_CONNECTION_NAME = "IdP simulator (SAML)"
#: The second demo organization logs in through the simulator's OpenID Provider.
DEMO_OIDC_ORG_EXTERNAL_ID = "example-labs"
DEMO_OIDC_ORG_NAME = "Example Labs"
DEMO_OIDC_DOMAIN = "example.org"
DEMO_OIDC_CONNECTION_NAME = "IdP simulator (OIDC)"
DEMO_OIDC_CLIENT_ID = "gatehouse-demo"
#: The third demo organization has no connection yet: its IT admin sets one up in the portal,
#: through the link the banner prints.
DEMO_PORTAL_ORG_EXTERNAL_ID = "example-startup"
DEMO_PORTAL_ORG_NAME = "Example Startup"
DEMO_PORTAL_DOMAIN = "example.net"
#: A management client with every ordinary scope (not domains:assert), so the README's
#: onboarding snippet runs as written.
DEMO_MANAGEMENT_CLIENT_ID = "gatehouse-demo-backend"
#: The seed is an operator's command, like the CLI's; the audit log names it so.
DEMO_ACTOR = "cli"


@dataclass(frozen=True, slots=True)
class DemoClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    management_client_id: str = DEMO_MANAGEMENT_CLIENT_ID
    management_client_secret: str = ""


def demo_client_secret(settings: Settings) -> str:
    """Fixed by GATEHOUSE_DEMO_CLIENT_SECRET, else generated once and kept under var/ (the
    stored copy is only a hash, and the demo app needs the secret itself)."""
    if settings.demo.client_secret:
        return settings.demo.client_secret
    return _kept_secret(settings, "demo-client-secret")


def demo_oidc_client_secret(settings: Settings) -> str:
    """The secret Gatehouse and the simulator's OpenID Provider share for the demo's OIDC
    connection: generated once under var/, handed to the simulator by environment."""
    return _kept_secret(settings, "demo-oidc-client-secret")


def _kept_secret(settings: Settings, name: str) -> str:
    path = settings.var_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def seed_demo(settings: Settings, *, demo_port: int) -> DemoClient:
    """(Re)register the demo client with the current credentials; idempotent."""
    broker = build_broker(settings)
    broker.keys.ensure_keys()
    client = DemoClient(
        client_id=settings.demo.client_id or DEMO_CLIENT_ID,
        client_secret=demo_client_secret(settings),
        redirect_uris=settings.demo.redirect_uris or (f"http://127.0.0.1:{demo_port}/callback",),
        management_client_secret=_kept_secret(settings, "demo-management-client-secret"),
    )
    with broker.store.unit_of_work() as uow:
        try:
            uow.management_clients.get(client.management_client_id)
        except NotFound:
            register_management_client(
                uow,
                name="Gatehouse demo backend",
                scopes=ORDINARY_SCOPES,
                now=SystemClock().now(),
                client_id=client.management_client_id,
                client_secret=client.management_client_secret,
            )
    with broker.store.unit_of_work() as uow:
        uow.clients.delete(client.client_id)
        register_client(
            uow,
            name="Gatehouse demo app",
            redirect_uris=client.redirect_uris,
            now=SystemClock().now(),
            client_id=client.client_id,
            client_secret=client.client_secret,
        )
    broker.close()
    return client


@dataclass(frozen=True, slots=True)
class DemoConnections:
    saml: Connection
    oidc: Connection


def simulator_environment(settings: Settings, *, simulator_url: str) -> dict[str, str]:
    """What the simulator process needs to serve the demo: where it lives, where it keeps its
    key, whom it answers, and the OIDC client it shares with Gatehouse."""
    port = urlsplit(simulator_url).port
    return {
        "IDP_SIM_BASE_URL": simulator_url,
        "IDP_SIM_PORT": str(port),
        "IDP_SIM_KEY_DIR": str(settings.var_dir / "idp-simulator"),
        "IDP_SIM_ALLOWED_ACS": settings.issuer,
        "IDP_SIM_OIDC_CLIENT_ID": DEMO_OIDC_CLIENT_ID,
        "IDP_SIM_OIDC_CLIENT_SECRET": demo_oidc_client_secret(settings),
    }


def seed_simulator_organizations(settings: Settings, *, simulator_url: str) -> DemoConnections:
    """Example Corp (SAML, example.com) and Example Labs (OIDC, example.org), both through
    the running simulator, configured from its metadata URL and issuer as an IT admin would.
    Idempotent: a rerun keeps the organizations, the SAML SP keys and the identities."""
    broker = build_broker(settings)
    try:
        return DemoConnections(
            saml=seed_example_corp_with(broker, simulator_url=simulator_url),
            oidc=seed_example_labs_with(
                broker,
                simulator_url=simulator_url,
                client_secret=demo_oidc_client_secret(settings),
            ),
        )
    except InvalidInput as exc:
        raise click.ClickException(f"the simulator's IdP was refused: {exc}") from exc
    except ManagementError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        broker.close()


def seed_example_corp_with(broker: Broker, *, simulator_url: str) -> Connection:
    """`seed_example_corp` with a broker the caller already built (tests, the benchmark).
    A rerun takes the simulator's current metadata into the existing connection (its SP
    keys are kept), and writes nothing if it did not change."""
    organization = _demo_organization(broker, DEMO_ORG_EXTERNAL_ID, DEMO_ORG_NAME, DEMO_DOMAIN)
    connections = broker.management.connections
    settings = {"metadata_url": f"{simulator_url}/metadata"}
    existing = _named_connection(broker, organization.id, DEMO_CONNECTION_NAME)
    if existing:
        return connections.update(
            DEMO_ACTOR, organization.id, existing.id, settings=settings
        ).connection
    return connections.create_saml(
        DEMO_ACTOR, organization.id, settings, name=DEMO_CONNECTION_NAME
    ).connection


def seed_example_labs_with(broker: Broker, *, simulator_url: str, client_secret: str) -> Connection:
    """Example Labs, its verified domain example.org, and an OIDC connection to the
    simulator's OpenID Provider, configured from its issuer as an IT admin would. A rerun
    replaces the connection's settings (the simulator may have moved ports)."""
    organization = _demo_organization(
        broker, DEMO_OIDC_ORG_EXTERNAL_ID, DEMO_OIDC_ORG_NAME, DEMO_OIDC_DOMAIN
    )
    connections = broker.management.connections
    settings: dict[str, object] = {
        "issuer": f"{simulator_url}/oidc",
        "client_id": DEMO_OIDC_CLIENT_ID,
    }
    existing = _named_connection(broker, organization.id, DEMO_OIDC_CONNECTION_NAME)
    if existing:
        return connections.update(
            DEMO_ACTOR, organization.id, existing.id, settings=settings,
            client_secret=client_secret,
        ).connection  # fmt: skip
    return connections.create_oidc(
        DEMO_ACTOR, organization.id, settings, client_secret=client_secret,
        name=DEMO_OIDC_CONNECTION_NAME,
    ).connection  # fmt: skip


def seed_portal_demo(settings: Settings) -> str:
    """Example Startup and its verified domain example.net, and a fresh portal link for its
    IT admin (a new one each run; the earlier ones expire by themselves)."""
    broker = build_broker(settings)
    try:
        organization = _demo_organization(
            broker, DEMO_PORTAL_ORG_EXTERNAL_ID, DEMO_PORTAL_ORG_NAME, DEMO_PORTAL_DOMAIN
        )
        return broker.management.portal_links.create(
            DEMO_ACTOR, organization.id, enabled_features=("sso", "domain_verification")
        ).url
    finally:
        broker.close()


def _demo_organization(
    broker: Broker, external_id: str, name: str, domain_name: str
) -> Organization:
    """The organization and its verified domain, created on the first run."""
    now = broker.clock.now()
    with broker.store.unit_of_work() as uow:
        try:
            organization = uow.organizations.get_by_external_id(external_id)
        except NotFound:
            organization = Organization(
                id=new_id("org"), name=name, external_id=external_id, created_at=now
            )
            uow.organizations.add(organization)
        try:
            domain = uow.domains.get(organization.id, domain_name)
        except NotFound:
            domain = Domain(organization_id=organization.id, name=domain_name, created_at=now)
            uow.domains.add(domain)
        if domain.verified_at is None:
            try:
                uow.domains.save(replace(domain, verified_at=now))
            except AlreadyExists as exc:
                # Another organization on this database has verified the demo's domain.
                raise click.ClickException(
                    f"{domain_name} is verified by another organization; the demo needs it"
                ) from exc
    return organization


def _named_connection(broker: Broker, organization_id: str, name: str) -> Connection | None:
    page = broker.management.connections.page(organization_id, after=None, limit=100)
    found = [c for c in page if c.name == name]
    return found[0] if found else None


def _wait_until_up(url: str, process: subprocess.Popen[bytes], *, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"{url} exited before it was ready")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise click.ClickException(f"{url} did not come up within {timeout:.0f} s")


def run_demo(settings: Settings, *, broker_port: int, demo_port: int, simulator_port: int) -> None:
    client = seed_demo(settings, demo_port=demo_port)
    simulator_url = f"http://127.0.0.1:{simulator_port}"
    env = {**os.environ, "GATEHOUSE_ISSUER": settings.issuer}
    simulator_env = {**env, **simulator_environment(settings, simulator_url=simulator_url)}
    simulator = subprocess.Popen([sys.executable, "-m", "idp_simulator"], env=simulator_env)
    try:
        _wait_until_up(f"{simulator_url}/healthz", simulator)
        connections = seed_simulator_organizations(settings, simulator_url=simulator_url)
        portal_link = seed_portal_demo(settings)
    except BaseException:
        simulator.send_signal(signal.SIGTERM)
        simulator.wait(timeout=10)
        raise
    commands = {
        "broker": [
            sys.executable, "-m", "uvicorn", "--factory", "broker.app:create_app_from_env",
            "--host", "127.0.0.1", "--port", str(broker_port), "--log-level", "warning",
        ],
        "demo app": [sys.executable, "-m", "demo_rp"],
    }  # fmt: skip
    demo_env = {
        **env,
        "DEMO_RP_ISSUER": settings.issuer,
        "DEMO_RP_CLIENT_ID": client.client_id,
        "DEMO_RP_CLIENT_SECRET": client.client_secret,
        "DEMO_RP_REDIRECT_URI": client.redirect_uris[0],
        "DEMO_RP_PORT": str(demo_port),
    }
    processes = [
        simulator,
        subprocess.Popen(commands["broker"], env=env),  # noqa: S603 - our own interpreter
        subprocess.Popen(commands["demo app"], env=demo_env),  # noqa: S603
    ]
    _print_banner(settings, client, demo_port, simulator_url, connections, portal_link)
    # SIGTERM (e.g. from a supervisor) must stop the children too, through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=10)


def _print_banner(
    settings: Settings,
    client: DemoClient,
    demo_port: int,
    simulator_url: str,
    connections: DemoConnections,
    portal_link: str,
) -> None:
    issuer = settings.issuer
    saml = endpoints_for(issuer, connections.saml.id, connections.saml.kind)
    oidc = endpoints_for(issuer, connections.oidc.id, connections.oidc.kind)
    click.echo(
        f"""
Gatehouse demo is running (Ctrl-C stops it).

  Demo app (plays Auth0):   http://127.0.0.1:{demo_port}/
                            log in as alice@example.com (SAML) or alice@example.org (OIDC);
                            expired@..., wrong-audience@..., ...: the simulator's scenarios
  IdP simulator:            {simulator_url}/  (SAML metadata {simulator_url}/metadata,
                            OIDC issuer {simulator_url}/oidc)
  Example Corp (SAML):      {connections.saml.id}
    ACS URL:                {saml.callback_url}
    SP entity ID / metadata: {saml.entity_id}
  Example Labs (OIDC):      {connections.oidc.id}
    Redirect URI:           {oidc.callback_url}
  Example Startup (no SSO yet: set it up as its IT admin would, in the portal):
    Portal link:            {portal_link}
                            (pick "Another SAML identity provider": the simulator is
                            the IdP; then log in from the demo app as alice@example.net)
  Broker / OIDC issuer:     {issuer}
  Discovery:                {issuer}/.well-known/openid-configuration
  JWKS:                     {issuer}/jwks.json

  Demo client_id:           {client.client_id}
  Demo client_secret:       {client.client_secret}
  Management API:           {issuer}/api/v1  (docs: {issuer}/api/v1/docs)
    client_id:              {client.management_client_id}   (every scope but domains:assert)
    client_secret:          {client.management_client_secret}
  Demo redirect URIs:       {" ".join(client.redirect_uris)}
  Database:                 {settings.database.url}
"""
    )
