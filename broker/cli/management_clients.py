"""Management clients: the app team's backends that call the management API."""

from __future__ import annotations

from pathlib import Path

import click

from broker.cli.client_secrets import SecretAdmin, add_secret_commands
from broker.cli.root import cli, emit, load_settings, unit_of_work
from broker.clock import SystemClock
from broker.management.access import api_audience, register_management_client
from broker.management.client_admin import revoke_previous_secret, rotate_secret, set_disabled
from broker.model.management import SCOPES
from broker.store import AlreadyExists, NotFound


@cli.group("management-clients")
def management_clients() -> None:
    """Backends allowed to call the management API (client credentials, scoped)."""


@management_clients.command("create")
@click.option("--name", required=True)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="Repeat for each scope; grant only what the backend needs.",
)
@click.option("--client-id", default=None, help="Fix the client_id (configuration as code).")
@click.option(
    "--client-secret-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Read the client secret from this file instead of generating one.",
)
@click.option("--json", "as_json", is_flag=True)
def management_clients_create(
    name: str,
    scopes: tuple[str, ...],
    client_id: str | None,
    client_secret_file: Path | None,
    as_json: bool,
) -> None:
    """Register a management client; its secret is printed once and stored hashed."""
    settings = load_settings()
    secret = client_secret_file.read_text().strip() if client_secret_file else None
    if client_secret_file is not None and (not secret or len(secret) < 32):
        raise click.UsageError("the client secret file must hold at least 32 characters")
    try:
        with unit_of_work() as uow:
            registered = register_management_client(
                uow,
                name=name,
                scopes=list(scopes),
                now=SystemClock().now(),
                client_id=client_id,
                client_secret=secret,
            )
    except AlreadyExists as exc:
        raise click.ClickException(f"client_id {client_id!r} is already registered") from exc
    client = registered.client
    shown_secret = None if client_secret_file else registered.client_secret
    data = {
        "client_id": client.client_id,
        "client_secret": shown_secret,
        "name": client.name,
        "scopes": list(client.scopes),
        "token_url": f"{settings.issuer}/token",
        "audience": api_audience(settings.issuer),
    }
    lines = [f"client_id:     {client.client_id}"]
    if shown_secret:
        lines.append(f"client_secret: {shown_secret}   (shown once; store it now)")
    lines += [
        f"scopes:        {' '.join(client.scopes)}",
        f"token URL:     {settings.issuer}/token  (grant_type=client_credentials)",
        f"audience:      {api_audience(settings.issuer)}",
    ]
    emit(as_json, data, lines)


@management_clients.command("list")
@click.option("--json", "as_json", is_flag=True)
def management_clients_list(as_json: bool) -> None:
    with unit_of_work() as uow:
        found = uow.management_clients.list()
    rows = [
        {
            "client_id": c.client_id,
            "name": c.name,
            "scopes": list(c.scopes),
            "revoked": c.revoked_at is not None,
            "disabled": c.disabled_at is not None,
            "secrets": 1 + (c.previous_secret_hash is not None),
        }
        for c in found
    ]
    emit(
        as_json,
        {"management_clients": rows},
        [
            f"{c.client_id}  {c.name}  {' '.join(c.scopes)}"
            + ("  (revoked)" if c.revoked_at else "")
            + ("  (disabled)" if c.disabled_at else "")
            + ("  (two secrets)" if c.previous_secret_hash else "")
            for c in found
        ]
        or ["no management clients"],
    )


@management_clients.command("revoke")
@click.argument("client_id")
def management_clients_revoke(client_id: str) -> None:
    """Revoke a client: its tokens stop working at once."""
    with unit_of_work() as uow:
        try:
            uow.management_clients.get(client_id)
        except NotFound as exc:
            raise click.ClickException(f"no management client {client_id!r}") from exc
        uow.management_clients.revoke(client_id, now=SystemClock().now())
    click.echo(f"revoked {client_id}")


add_secret_commands(
    management_clients,
    SecretAdmin(
        group="management-clients",
        kind="management client",
        rotate=rotate_secret,
        revoke_previous=revoke_previous_secret,
        set_disabled=set_disabled,
        switch_over="Redeploy the backend with the new secret in between.",
        disabled_means="Refuse the client tokens, and its tokens",
    ),
)
