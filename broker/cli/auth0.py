"""`gatehouse auth0`: the app team's Auth0 tenant trusts Gatehouse through one OpenID
Connect connection, created and kept current here through Auth0's Management API with the
app team's machine-to-machine application (broker/auth0/).

The M2M secret is read from the environment (`AUTH0_CLIENT_SECRET`) or a file, never from
the command line (where `ps` and shell history would keep it), and never printed. Neither
is the Gatehouse client's secret: it goes to Auth0 and nowhere else.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from broker.auth0.action import default_namespace, post_login_action
from broker.auth0.aliases import AliasPlan, AliasRecordFull
from broker.auth0.api import Auth0Refused, M2MApplication, ManagementApi, is_domain
from broker.auth0.setup import ConnectRequest, NotConnected, apply_sync, connect, plan_sync
from broker.cli.root import checked_store, cli, emit, load_settings
from broker.errors import ConfigError

#: Auth0's rule for a connection's name (Management API, `POST /connections`).
_CONNECTION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?")
SECRET_ENV = "AUTH0_CLIENT_SECRET"  # noqa: S105 - the variable's name

#: What to do about each refusal, by HTTP status.
_HINTS = {
    401: "check the M2M application's client id and secret (AUTH0_CLIENT_ID, "
    "AUTH0_CLIENT_SECRET) and that it is authorized for the Management API",
    403: "the M2M application needs the scopes read:connections, create:connections, "
    "update:connections, read:connections_options, update:connections_options",
    409: "a connection of that name already exists with another strategy, or is being "
    "deleted: choose another --connection-name",
}


def _connection_name(_: click.Context, __: click.Parameter, value: str) -> str:
    if not _CONNECTION_NAME.fullmatch(value):
        raise click.BadParameter(
            "letters, digits and '-', starting and ending with a letter or digit, at most 128"
        )
    return value


def _custom_domains(_: click.Context, __: click.Parameter, value: tuple[str, ...]) -> Any:
    for name in value:
        if not is_domain(name):
            raise click.BadParameter(f"{name!r} is not a domain (login.example.com)")
    return value


def _m2m_options(command: Any) -> Any:
    """The options every command that calls the Management API takes."""
    for option in reversed(
        [
            click.option("--domain", envvar="AUTH0_DOMAIN", required=True,
                         help="The tenant's domain, e.g. acme.us.auth0.com (AUTH0_DOMAIN)."),
            click.option("--m2m-client-id", envvar="AUTH0_CLIENT_ID", required=True,
                         help="The M2M application's client id (AUTH0_CLIENT_ID)."),
            click.option("--m2m-client-secret-file", default=None,
                         type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help=f"Read its secret from this file instead of {SECRET_ENV}."),
            click.option("--api-origin", default=None,
                         help="Where the Management API answers; default https://DOMAIN."),
            click.option("--retries", default=2, show_default=True, type=click.IntRange(0, 5),
                         help="Retries of a rate-limited (429) or failed call."),
            click.option("--connection-name", default="gatehouse", show_default=True,
                         callback=_connection_name),
        ]
    ):  # fmt: skip
        command = option(command)
    return command


@contextmanager
def _management_api(
    domain: str, client_id: str, secret_file: Path | None, origin: str | None, retries: int
) -> Iterator[ManagementApi]:
    secret = secret_file.read_text().strip() if secret_file else os.environ.get(SECRET_ENV, "")
    if not secret:
        raise click.UsageError(f"set {SECRET_ENV} or pass --m2m-client-secret-file")
    try:
        app = M2MApplication(domain, client_id, secret, origin)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    api = ManagementApi(app, retries=retries)
    try:
        yield api
    except Auth0Refused as exc:
        raise click.ClickException(_refusal(exc)) from exc
    except (NotConnected, AliasRecordFull, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        api.close()


def _refusal(exc: Auth0Refused) -> str:
    parts = [f"Auth0 refused: {exc}"]
    if exc.status == 429:
        when = (
            datetime.fromtimestamp(exc.retry_at, UTC).strftime("%H:%M:%S UTC")
            if exc.retry_at
            else "a minute"
        )
        parts.append(f"rate limited; run it again after {when}")
    elif exc.status in _HINTS:
        parts.append(_HINTS[exc.status])
    return "; ".join(parts)


@cli.group("auth0")
def auth0() -> None:
    """Connect an Auth0 tenant to Gatehouse and keep its IdP domains current."""


@auth0.command("connect")
@_m2m_options
@click.option(
    "--app",
    "applications",
    multiple=True,
    help="An Auth0 application (client id) to enable the connection for; repeat.",
)
@click.option(
    "--custom-domain",
    "custom_domains",
    multiple=True,
    callback=_custom_domains,
    help="An Auth0 custom domain whose /login/callback Gatehouse must accept.",
)
@click.option("--claim-namespace", default=None, help="Prefix of the Action's claims.")
@click.option("--json", "as_json", is_flag=True)
def auth0_connect(
    domain: str,
    m2m_client_id: str,
    m2m_client_secret_file: Path | None,
    api_origin: str | None,
    retries: int,
    connection_name: str,
    applications: tuple[str, ...],
    custom_domains: tuple[str, ...],
    claim_namespace: str | None,
    as_json: bool,
) -> None:
    """Create or update the Auth0 OpenID Connect connection to Gatehouse: back channel,
    client_secret_post, login_hint forwarded, Gatehouse's claims mapped, the verified
    domains as IdP domains; register the Gatehouse client it uses (once) and enable the
    connection for the --app applications. Prints the post-login Action to add."""
    settings = load_settings()
    request = ConnectRequest(
        connection_name=connection_name,
        issuer=settings.issuer,
        callback_urls=tuple(f"https://{d}/login/callback" for d in (domain, *custom_domains)),
        applications=applications,
    )
    store = checked_store(settings)
    try:
        with _management_api(
            domain, m2m_client_id, m2m_client_secret_file, api_origin, retries
        ) as api:
            outcome = connect(api, store, request, now=datetime.now(UTC))
    finally:
        store.engine.dispose()
    action = post_login_action(
        connection_name=connection_name,
        namespace=claim_namespace or default_namespace(settings.issuer),
    )
    verb = "created" if outcome.created else "updated"
    client_note = (
        "registered now; its secret went to Auth0 only"
        if outcome.client_registered
        else "already registered; its secret is unchanged"
    )
    lines = [
        f"{verb} Auth0 connection {connection_name} ({outcome.connection_id})",
        f"Gatehouse client: {outcome.gatehouse_client_id} ({client_note})",
        *_plan_lines(outcome.plan),
        f"enabled for: {', '.join(applications) if applications else 'no application (--app)'}",
        *(f"warning: {w}" for w in outcome.warnings),
        "",
        "Add this Action to Auth0's Login flow (Actions > Library > Create Action, Post "
        "Login); gatehouse auth0 action prints it again:",
        "",
        action,
    ]
    emit(
        as_json,
        {
            "connection_id": outcome.connection_id,
            "connection_name": connection_name,
            "created": outcome.created,
            "gatehouse_client_id": outcome.gatehouse_client_id,
            "client_registered": outcome.client_registered,
            "enabled_for": list(applications),
            **_plan_data(outcome.plan),
            "warnings": list(outcome.warnings),
            "action": action,
        },
        lines,
    )


@auth0.command("sync")
@_m2m_options
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option("--json", "as_json", is_flag=True)
def auth0_sync(
    domain: str,
    m2m_client_id: str,
    m2m_client_secret_file: Path | None,
    api_origin: str | None,
    retries: int,
    connection_name: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Make the connection's IdP domains (domain_aliases) the verified domains: add the
    newly verified, remove the released ones Gatehouse added, never touch an alias someone
    else listed. Run it after domains change (or on a schedule); --dry-run shows the diff."""
    settings = load_settings()
    store = checked_store(settings)
    try:
        with _management_api(
            domain, m2m_client_id, m2m_client_secret_file, api_origin, retries
        ) as api:
            planned = plan_sync(api, store, connection_name)
            if not dry_run:
                apply_sync(api, planned)
    finally:
        store.engine.dispose()
    plan = planned.plan
    head = f"connection {connection_name} ({planned.connection.id})"
    if not plan.changes:
        status = "IdP domains already match the verified domains"
    else:
        status = "would change (dry run; nothing sent)" if dry_run else "changed"
    emit(
        as_json,
        {
            "connection_id": planned.connection.id,
            "connection_name": connection_name,
            "dry_run": dry_run,
            "changed": plan.changes and not dry_run,
            **_plan_data(plan),
        },
        [f"{head}: {status}", *_plan_lines(plan)],
    )


@auth0.command("action")
@click.option(
    "--connection-name", default="gatehouse", show_default=True, callback=_connection_name
)
@click.option(
    "--claim-namespace",
    default=None,
    help="Prefix of the claims; default: GATEHOUSE_ISSUER with a trailing /.",
)
def auth0_action(connection_name: str, claim_namespace: str | None) -> None:
    """Print the Auth0 post-login Action that puts Gatehouse's organization claims into
    the app's ID and access tokens."""
    namespace = claim_namespace or default_namespace(load_settings().issuer)
    click.echo(post_login_action(connection_name=connection_name, namespace=namespace))


def _plan_lines(plan: AliasPlan) -> list[str]:
    lines = [f"+ {d}" for d in plan.to_add] + [f"- {d}" for d in plan.to_remove]
    if plan.not_ours:
        lines.append(f"  listed by someone else, left alone: {', '.join(plan.not_ours)}")
    lines.append(f"IdP domains: {', '.join(plan.aliases) or '(none)'}")
    return lines


def _plan_data(plan: AliasPlan) -> dict[str, Any]:
    return {
        "added": list(plan.to_add),
        "removed": list(plan.to_remove),
        "domain_aliases": list(plan.aliases),
        "not_added_by_gatehouse": list(plan.not_ours),
    }
