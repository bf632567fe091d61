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

import click
import httpx

from broker.app import Broker, build_broker
from broker.clock import SystemClock
from broker.domain.model import Connection, Domain, Organization
from broker.domain.opaque import new_id
from broker.oidc.clients import register_client
from broker.provisioning import create_saml_connection, read_idp_metadata, update_saml_idp
from broker.settings import Settings
from broker.store import NotFound
from broker.upstream.urls import endpoints_for

DEMO_CLIENT_ID = "gatehouse-demo"
DEMO_ORG_EXTERNAL_ID = "example-corp"
DEMO_ORG_NAME = "Example Corp"
DEMO_DOMAIN = "example.com"
DEMO_CONNECTION_NAME = "IdP simulator (SAML)"


@dataclass(frozen=True, slots=True)
class DemoClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


def demo_client_secret(settings: Settings) -> str:
    """Fixed by GATEHOUSE_DEMO_CLIENT_SECRET, else generated once and kept under var/ (the
    stored copy is only a hash, and the demo app needs the secret itself)."""
    if settings.demo.client_secret:
        return settings.demo.client_secret
    path = settings.var_dir / "demo-client-secret"
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


def seed_example_corp(settings: Settings, *, simulator_url: str) -> Connection:
    """Example Corp, its verified domain example.com, and a SAML connection to the running
    simulator, configured from the simulator's metadata URL as an IT admin would. Idempotent:
    a rerun keeps the organization and the SP keys and takes the simulator's current
    certificate."""
    broker = build_broker(settings)
    try:
        return seed_example_corp_with(broker, simulator_url=simulator_url)
    finally:
        broker.close()


def seed_example_corp_with(broker: Broker, *, simulator_url: str) -> Connection:
    """`seed_example_corp` with a broker the caller already built (tests, the benchmark)."""
    now = broker.clock.now()
    idp = read_idp_metadata(broker, url=f"{simulator_url}/metadata")
    with broker.store.unit_of_work() as uow:
        try:
            organization = uow.organizations.get_by_external_id(DEMO_ORG_EXTERNAL_ID)
        except NotFound:
            organization = Organization(
                id=new_id("org"),
                name=DEMO_ORG_NAME,
                external_id=DEMO_ORG_EXTERNAL_ID,
                created_at=now,
            )
            uow.organizations.add(organization)
        try:
            domain = uow.domains.get(DEMO_DOMAIN)
        except NotFound:
            domain = Domain(organization_id=organization.id, name=DEMO_DOMAIN)
            uow.domains.add(domain)
        if domain.verified_at is None:
            uow.domains.save(replace(domain, verified_at=now))
        existing = [
            c for c in uow.connections.for_organization(organization.id)
            if c.name == DEMO_CONNECTION_NAME
        ]  # fmt: skip
    if existing:
        return update_saml_idp(broker, existing[0], idp)
    created = create_saml_connection(
        broker, organization_id=organization.id, idp=idp, name=DEMO_CONNECTION_NAME
    )
    return created.connection


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
    simulator_env = {
        **env,
        "IDP_SIM_BASE_URL": simulator_url,
        "IDP_SIM_PORT": str(simulator_port),
        "IDP_SIM_KEY_DIR": str(settings.var_dir / "idp-simulator"),
        "IDP_SIM_ALLOWED_ACS": settings.issuer,
    }
    simulator = subprocess.Popen([sys.executable, "-m", "idp_simulator"], env=simulator_env)
    try:
        _wait_until_up(f"{simulator_url}/healthz", simulator)
        connection = seed_example_corp(settings, simulator_url=simulator_url)
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
    _print_banner(settings, client, demo_port, simulator_url, connection)
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
    connection: Connection,
) -> None:
    issuer = settings.issuer
    endpoints = endpoints_for(issuer, connection.id, connection.kind)
    click.echo(
        f"""
Gatehouse demo is running (Ctrl-C stops it).

  Demo app (plays Auth0):   http://127.0.0.1:{demo_port}/
                            log in as alice@example.com (or expired@example.com,
                            wrong-audience@example.com, ...: the simulator's scenarios)
  IdP simulator (SAML):     {simulator_url}/
  Example Corp connection:  {connection.id}
    ACS URL:                {endpoints.callback_url}
    SP entity ID / metadata: {endpoints.entity_id}
  Broker / OIDC issuer:     {issuer}
  Discovery:                {issuer}/.well-known/openid-configuration
  JWKS:                     {issuer}/jwks.json

  Demo client_id:           {client.client_id}
  Demo client_secret:       {client.client_secret}
  Demo redirect URIs:       {" ".join(client.redirect_uris)}
  Database:                 {settings.database.url}
"""
    )
