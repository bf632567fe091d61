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
from dataclasses import dataclass

import click

from broker.app import build_broker
from broker.clock import SystemClock
from broker.oidc.clients import register_client
from broker.settings import Settings

DEMO_CLIENT_ID = "gatehouse-demo"


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
    return client


def run_demo(settings: Settings, *, broker_port: int, demo_port: int) -> None:
    client = seed_demo(settings, demo_port=demo_port)
    env = {**os.environ, "GATEHOUSE_ISSUER": settings.issuer}
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
        subprocess.Popen(commands["broker"], env=env),  # noqa: S603 - our own interpreter
        subprocess.Popen(commands["demo app"], env=demo_env),  # noqa: S603
    ]
    _print_banner(settings, client, demo_port)
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


def _print_banner(settings: Settings, client: DemoClient, demo_port: int) -> None:
    issuer = settings.issuer
    click.echo(
        f"""
Gatehouse demo is running (Ctrl-C stops it).

  Demo app (plays Auth0):   http://127.0.0.1:{demo_port}/
  Broker / OIDC issuer:     {issuer}
  Discovery:                {issuer}/.well-known/openid-configuration
  JWKS:                     {issuer}/jwks.json

  Demo client_id:           {client.client_id}
  Demo client_secret:       {client.client_secret}
  Demo redirect URIs:       {" ".join(client.redirect_uris)}
  Database:                 {settings.database.url}
"""
    )
