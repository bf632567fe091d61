"""Running Gatehouse and what it needs: migrate, serve, purge, the demo, relying-party
clients (secret rotation, disabling), signing keys and secrets at rest."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from broker import logs
from broker.app import build_broker, open_store
from broker.cli.client_secrets import SecretAdmin, add_secret_commands
from broker.cli.root import (
    CLI_ACTOR,
    checked_store,
    cli,
    emit,
    load_settings,
    open_broker,
    prepare_sqlite_dir,
)
from broker.clock import SystemClock
from broker.errors import ConfigError
from broker.keys import KeyDecryptionError
from broker.metrics.exposition import Exposition
from broker.metrics.listener import MetricsListener
from broker.metrics.workers import shared_by_workers
from broker.model.records import DownstreamClient, OnRefusal
from broker.oidc.clients import (
    register_client,
    revoke_previous_client_secret,
    rotate_client_secret,
    set_client_disabled,
    set_client_on_refusal,
)
from broker.reencrypt import record as record_reencryption, reencrypt
from broker.settings import Settings
from broker.store import AlreadyExists, NotFound
from broker.store.sql import SqlStore
from broker.store.sql.migrate import upgrade_to_head
from broker.store.sql.schema import require_known


def migrated_store(settings: Settings) -> SqlStore:
    """The configured database brought to the schema's head. Looked at first, so a database
    that cannot be reached, or that a newer Gatehouse migrated, is one line
    (`StoreUnavailable`), not a traceback from Alembic."""
    prepare_sqlite_dir(settings)
    store = open_store(settings)
    require_known(store.engine)
    upgrade_to_head(store.engine)
    return store


@cli.command()
def migrate() -> None:
    """Bring the database schema to the latest version and make sure signing keys exist."""
    settings = load_settings()
    build_broker(settings, store=migrated_store(settings)).keys.ensure_keys()
    click.echo("database is at the latest schema; signing keys are in place")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Run the broker (the OpenID provider and the login pages)."""
    import uvicorn

    # Fail fast, before the server starts, on bad configuration or a database that cannot
    # serve (each worker's app checks again, for servers started without this command).
    settings = load_settings()
    checked_store(settings).engine.dispose()
    with ExitStack() as running:
        if workers > 1:
            # Each worker keeps its metrics in files of one directory, and a scrape of any
            # of them, or of the metrics listener here, adds them up (`broker.metrics`).
            shared = running.enter_context(shared_by_workers(settings.var_dir))
            if settings.metrics.listen is not None:
                listener = MetricsListener(settings.metrics.listen, Exposition.of_workers(shared))
                listener.start()
                running.callback(listener.stop)
        uvicorn.run(
            "broker.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=False,
            log_config=logs.uvicorn_log_config(settings.logging.level, settings.logging.format),
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def purge(as_json: bool) -> None:
    """Delete what has expired (flows, codes, tokens, replay entries, idempotency keys,
    rate-limit windows, portal sessions) and what is past its retention (portal links, test
    results, audit events). Every running instance already does this every
    GATEHOUSE_PURGE_INTERVAL_SECONDS; this is for a scheduler when that is 0, or by hand."""
    broker = open_broker()
    try:
        counts = broker.purger.purge()
    finally:
        broker.close()
    per_table = counts.as_dict()
    width = max(map(len, per_table))
    lines = [f"{table:<{width}}  {count}" for table, count in per_table.items()]
    emit(
        as_json,
        {"purged": per_table, "total": counts.total},
        [*lines, f"{'total':<{width}}  {counts.total}"],
    )


@cli.command()
@click.option("--broker-port", default=8000, show_default=True, type=int)
@click.option("--demo-port", default=8100, show_default=True, type=int)
@click.option("--simulator-port", default=8200, show_default=True, type=int)
def demo(broker_port: int, demo_port: int, simulator_port: int) -> None:
    """Migrate, seed the demo, and run the broker, the IdP simulator and the demo app on
    127.0.0.1."""
    from broker.demo import run_demo

    settings = load_settings()
    migrated_store(settings).engine.dispose()
    run_demo(settings, broker_port=broker_port, demo_port=demo_port, simulator_port=simulator_port)


_ON_REFUSAL_CHOICE = click.Choice([choice.value for choice in OnRefusal])
_ON_REFUSAL = click.option(
    "--on-refusal",
    type=_ON_REFUSAL_CHOICE,
    default=OnRefusal.PAGE.value,
    show_default=True,
    help="A refused login: Gatehouse's page with a button back to the client carrying the "
    "error (page), or the error sent to the client at once (redirect; for a relying party "
    "that shows its own, such as Auth0).",
)


@cli.group()
def clients() -> None:
    """Relying parties allowed to use Gatehouse (your Auth0 tenant)."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--client-id", default=None, help="Fix the client_id (configuration as code).")
@click.option(
    "--client-secret-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Read the client secret from this file instead of generating one.",
)
@click.option("--public", is_flag=True, help="A client without a secret; PKCE is then required.")
@_ON_REFUSAL
@click.option("--json", "as_json", is_flag=True)
def clients_create(
    name: str,
    redirect_uris: tuple[str, ...],
    client_id: str | None,
    client_secret_file: Path | None,
    public: bool,
    on_refusal: str,
    as_json: bool,
) -> None:
    """Register a client; its secret is printed once and stored hashed."""
    broker = open_broker()
    secret = client_secret_file.read_text().strip() if client_secret_file else None
    clock_now = SystemClock().now()
    try:
        with broker.store.unit_of_work() as uow:
            registered = register_client(
                uow,
                name=name,
                redirect_uris=redirect_uris,
                now=clock_now,
                client_id=client_id,
                client_secret=secret,
                public=public,
                on_refusal=OnRefusal(on_refusal),
            )
    except AlreadyExists as exc:
        raise click.ClickException(f"client_id {client_id!r} is already registered") from exc
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    client = registered.client
    data = {
        "client_id": client.client_id,
        "client_secret": registered.client_secret,
        "name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "on_refusal": client.on_refusal.value,
        "issuer": broker.settings.issuer,
    }
    lines = [f"client_id:     {client.client_id}"]
    if registered.client_secret and not client_secret_file:
        lines.append(f"client_secret: {registered.client_secret}   (shown once; store it now)")
    lines.append(f"issuer:        {broker.settings.issuer}")
    if client_secret_file:
        data["client_secret"] = None
    emit(as_json, data, lines)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
def clients_list(as_json: bool) -> None:
    broker = open_broker()
    with broker.store.unit_of_work() as uow:
        found = uow.clients.list()
    rows = [
        {
            "client_id": c.client_id,
            "name": c.name,
            "public": c.is_public,
            "redirect_uris": list(c.redirect_uris),
            "created_at": c.created_at.isoformat(),
            "secrets": _secret_count(c),
            "disabled": c.disabled_at is not None,
            "on_refusal": c.on_refusal.value,
        }
        for c in found
    ]
    emit(
        as_json,
        {"clients": rows},
        [
            f"{c.client_id}  {c.name}  {' '.join(c.redirect_uris)}"
            + ("  (two secrets)" if c.previous_secret_hash else "")
            + ("  (disabled)" if c.disabled_at else "")
            + ("  (refusals redirected at once)" if c.on_refusal is OnRefusal.REDIRECT else "")
            for c in found
        ]
        or ["no clients"],
    )


@clients.command("update")
@click.argument("client_id")
@click.option(
    "--on-refusal",
    type=_ON_REFUSAL_CHOICE,
    required=True,
    help="How the client hears of a refused login (see `clients create --help`).",
)
@click.option("--json", "as_json", is_flag=True)
def clients_update(client_id: str, on_refusal: str, as_json: bool) -> None:
    """Change how a client hears of refused logins."""
    broker = open_broker()
    try:
        with broker.store.unit_of_work() as uow:
            client = set_client_on_refusal(
                uow, client_id, OnRefusal(on_refusal), now=SystemClock().now(), actor="cli"
            )
    except NotFound as exc:
        raise click.ClickException(f"no client {client_id!r}") from exc
    data = {"client_id": client.client_id, "on_refusal": client.on_refusal.value}
    emit(as_json, data, [f"{client.client_id}: refused logins -> {client.on_refusal.value}"])


def _secret_count(client: DownstreamClient) -> int:
    return (client.secret_hash is not None) + (client.previous_secret_hash is not None)


add_secret_commands(
    clients,
    SecretAdmin(
        group="clients",
        kind="client",
        rotate=rotate_client_secret,
        revoke_previous=revoke_previous_client_secret,
        set_disabled=set_client_disabled,
        switch_over="Update the relying party (e.g. Auth0's connection settings) in between.",
        disabled_means="Refuse the client at /authorize and /token",
    ),
)


@cli.group()
def keys() -> None:
    """The keys Gatehouse signs ID tokens with."""


@keys.command("rotate")
@click.option("--json", "as_json", is_flag=True)
def keys_rotate(as_json: bool) -> None:
    """Promote the published NEXT key to signing, retire the old one, publish a new NEXT.
    Logins in flight are unaffected: both keys stay in the JWKS."""
    broker = open_broker()
    broker.keys.ensure_keys()
    current = broker.keys.rotate()
    emit(as_json, {"current_kid": current.kid}, [f"now signing with {current.kid}"])


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    broker = open_broker()
    infos = broker.keys.list_keys()
    rows = [
        {
            "kid": k.kid,
            "state": k.state,
            "created_at": k.created_at.isoformat(),
            "activated_at": k.activated_at.isoformat() if k.activated_at else None,
            "retired_at": k.retired_at.isoformat() if k.retired_at else None,
        }
        for k in infos
    ]
    emit(as_json, {"keys": rows}, [f"{r['kid']}  {r['state']}" for r in rows] or ["no keys"])


@cli.group("secrets")
def secrets_group() -> None:
    """What is encrypted at rest under GATEHOUSE_SECRET_KEY (signing keys, connection
    secrets), and moving it to a new key."""


@secrets_group.command("reencrypt")
@click.option("--json", "as_json", is_flag=True)
def secrets_reencrypt(as_json: bool) -> None:
    """Re-encrypt every stored secret with GATEHOUSE_SECRET_KEY, in batches. Idempotent:
    run it after adding the previous key to GATEHOUSE_SECRET_KEYS_OLD, and again until
    nothing still needs an old key."""
    _report_secrets(as_json, write=True)


@secrets_group.command("status")
@click.option("--json", "as_json", is_flag=True)
def secrets_status(as_json: bool) -> None:
    """How many stored secrets still need a key from GATEHOUSE_SECRET_KEYS_OLD."""
    _report_secrets(as_json, write=False)


def _report_secrets(as_json: bool, *, write: bool) -> None:
    broker = open_broker()
    try:
        outcome = reencrypt(broker.store, broker.secrets, write=write)
        if outcome.changed:
            record_reencryption(
                broker.store, broker.secrets, outcome, now=broker.clock.now(), actor=CLI_ACTOR
            )
    except KeyDecryptionError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        broker.close()
    lines = [f"re-encrypted {outcome.changed} secrets"] if write else []
    if outcome.outdated:
        lines.append(
            f"{outcome.outdated} secrets still need a key from GATEHOUSE_SECRET_KEYS_OLD: "
            "run gatehouse secrets reencrypt"
            + (" again (a connection or key changed meanwhile)" if write else "")
        )
    else:
        lines.append("nothing still needs an old key: GATEHOUSE_SECRET_KEYS_OLD can be removed")
    emit(
        as_json,
        {
            "current_key_id": broker.secrets.current_key_id,
            "reencrypted": outcome.changed,
            "still_needing_old_keys": outcome.outdated,
        },
        [f"GATEHOUSE_SECRET_KEY id: {broker.secrets.current_key_id}", *lines],
    )
