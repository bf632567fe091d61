"""Management clients: the app team's backends that call the management API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from broker.cli.root import CLI_ACTOR, cli, emit, load_settings, unit_of_work
from broker.clock import SystemClock
from broker.errors import ConfigError
from broker.management.access import api_audience, register_management_client
from broker.management.client_admin import revoke_previous_secret, rotate_secret, set_disabled
from broker.model.management import SCOPES
from broker.store import AlreadyExists, NotFound, UnitOfWork


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


@management_clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
def management_clients_rotate_secret(client_id: str, as_json: bool) -> None:
    """Add a new secret (printed once); the old one keeps working until `revoke-secret`.
    Redeploy the backend with the new secret in between."""
    with _changing_client(client_id) as uow:
        rotated = rotate_secret(uow, client_id, now=SystemClock().now(), actor=CLI_ACTOR)
    emit(
        as_json,
        {"client_id": client_id, "client_secret": rotated.client_secret},
        [
            f"client_id:     {client_id}",
            f"client_secret: {rotated.client_secret}   (shown once; store it now)",
            "the previous secret stays valid until: gatehouse management-clients "
            f"revoke-secret {client_id}",
        ],
    )


@management_clients.command("revoke-secret")
@click.argument("client_id")
def management_clients_revoke_secret(client_id: str) -> None:
    """Stop accepting the older of the client's two secrets (refused if it has one)."""
    with _changing_client(client_id) as uow:
        revoke_previous_secret(uow, client_id, now=SystemClock().now(), actor=CLI_ACTOR)
    click.echo(f"{client_id}: the previous secret no longer works; only the newest one does")


@management_clients.command("disable")
@click.argument("client_id")
def management_clients_disable(client_id: str) -> None:
    """Refuse the client tokens, and its tokens, until it is enabled again."""
    with _changing_client(client_id) as uow:
        set_disabled(uow, client_id, disabled=True, now=SystemClock().now(), actor=CLI_ACTOR)
    click.echo(f"disabled {client_id}")


@management_clients.command("enable")
@click.argument("client_id")
def management_clients_enable(client_id: str) -> None:
    with _changing_client(client_id) as uow:
        set_disabled(uow, client_id, disabled=False, now=SystemClock().now(), actor=CLI_ACTOR)
    click.echo(f"enabled {client_id}")


@contextmanager
def _changing_client(client_id: str) -> Iterator[UnitOfWork]:
    try:
        with unit_of_work() as uow:
            yield uow
    except NotFound as exc:
        raise click.ClickException(f"no management client {client_id!r}") from exc
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
