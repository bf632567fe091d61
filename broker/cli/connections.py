"""Identity provider connections."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from broker.cli.api_json import api_json
from broker.cli.root import (
    CLI_ACTOR,
    cli,
    emit,
    find_organization,
    load_settings,
    management,
    unit_of_work,
)
from broker.management import Management
from broker.management.api.connections import connection_out
from broker.management.connection_view import ConnectionView, OidcView, SamlView
from broker.management.connections import Connections
from broker.model.records import Connection
from broker.store import NotFound
from broker.upstream.urls import endpoints_for

_PAGE = 100

#: Both create commands take it: an on-premises IdP's private certificate authority.
ca_bundle_option = click.option(
    "--ca-bundle",
    "ca_bundle_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM file of the CA certificates that issued the IdP's TLS certificate (an "
    "on-premises IdP); trusted for this connection's requests only.",
)


@cli.group()
def connections() -> None:
    """Identity provider connections: how an organization's people log in."""


@connections.command("create-saml")
@click.option("--org", "org_ref", required=True, help="Organization id or external id.")
@click.option("--metadata-url", default=None, help="The IdP's SAML metadata URL (https).")
@click.option(
    "--metadata-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None
)
@click.option("--entity-id", default=None, help="IdP entity ID (without metadata).")
@click.option("--sso-url", default=None, help="IdP SSO URL, HTTP-Redirect binding.")
@click.option(
    "--cert",
    "cert_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="IdP signing certificate (PEM); repeat during a rollover.",
)
@click.option("--name", default=None)
@click.option(
    "--attribute-profile",
    type=click.Choice(["generic", "okta", "entra", "google", "adfs"]),
    default="generic",
    show_default=True,
)
@click.option("--allow-sha1", is_flag=True, help="Accept SHA-1 signatures (weak; avoid).")
@click.option(
    "--allow-cbc-encryption",
    is_flag=True,
    help="Accept AES-CBC encrypted assertions (weak; only for an IdP without AES-GCM).",
)
@click.option(
    "--subject-hint/--no-subject-hint",
    default=True,
    show_default=True,
    help="Send the email the person typed as the AuthnRequest's Subject, so the IdP's "
    "login page is pre-filled. Turn off for an IdP that refuses an AuthnRequest with a "
    "Subject.",
)
@ca_bundle_option
@click.option(
    "--active", is_flag=True, help="Route logins to it at once (default: inactive until activated)."
)
@click.option("--json", "as_json", is_flag=True)
def connections_create_saml(
    org_ref: str,
    metadata_url: str | None,
    metadata_file: Path | None,
    entity_id: str | None,
    sso_url: str | None,
    cert_files: tuple[Path, ...],
    name: str | None,
    attribute_profile: str,
    allow_sha1: bool,
    allow_cbc_encryption: bool,
    subject_hint: bool,
    ca_bundle_file: Path | None,
    active: bool,
    as_json: bool,
) -> None:
    """Create a SAML connection and print what the IdP admin needs: ACS URL, SP entity ID
    and SP metadata URL."""
    sources = [metadata_url is not None, metadata_file is not None, entity_id is not None]
    if sum(sources) != 1:
        raise click.UsageError(
            "give exactly one of --metadata-url, --metadata-file, or --entity-id with "
            "--sso-url and --cert"
        )
    settings: dict[str, object]
    if entity_id is not None:
        if not sso_url or not cert_files:
            raise click.UsageError("--entity-id needs --sso-url and at least one --cert")
        settings = {
            "idp_entity_id": entity_id,
            "sso_url": sso_url,
            "certificates": [path.read_text() for path in cert_files],
        }
    elif metadata_file is not None:
        settings = {"metadata_xml": metadata_file.read_bytes()}
    else:
        settings = {"metadata_url": metadata_url}
    if ca_bundle_file is not None:
        settings["ca_bundle"] = ca_bundle_file.read_text(errors="replace")
    with unit_of_work() as uow:
        organization = find_organization(uow, org_ref)
    with management() as use_cases:
        saved = use_cases.connections.create_saml(
            CLI_ACTOR,
            organization.id,
            {
                **settings,
                "attribute_profile": attribute_profile,
                "allow_sha1": allow_sha1,
                "allow_cbc_encryption": allow_cbc_encryption,
                "subject_hint": subject_hint,
            },
            name=name,
            active=active,
        )
        view = use_cases.connections.describe(saved.connection, saved.warnings)
    assert isinstance(view.settings, SamlView)
    saml = view.settings
    data = {
        "id": view.id,
        "organization_id": organization.id,
        "idp_entity_id": saml.idp_entity_id,
        "acs_url": saml.acs_url,
        "sp_entity_id": saml.sp_entity_id,
        "sp_metadata_url": saml.sp_metadata_url,
        "active": view.active,
        "warnings": list(view.warnings),
    }
    lines = [
        view.id,
        "",
        "Give your IdP admin these values:",
        f"  ACS URL (Reply URL):      {saml.acs_url}",
        f"  SP entity ID (Audience):  {saml.sp_entity_id}",
        f"  SP metadata URL:          {saml.sp_metadata_url}",
        *(f"warning: {w}" for w in view.warnings),
        *_inactive_hint(view),
    ]
    emit(as_json, data, lines)


@connections.command("create-oidc")
@click.option("--org", "org_ref", required=True, help="Organization id or external id.")
@click.option("--issuer", required=True, help="The IdP's issuer (its discovery is read).")
@click.option("--client-id", required=True, help="The client id the IdP gave Gatehouse.")
@click.option(
    "--client-secret-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A file holding the client secret (never on the command line).",
)
@click.option(
    "--private-key-jwt",
    is_flag=True,
    help="Authenticate with a key Gatehouse generates instead of a secret.",
)
@click.option(
    "--auth-method",
    type=click.Choice(["client_secret_basic", "client_secret_post"]),
    default="client_secret_basic",
    show_default=True,
)
@click.option(
    "--vendor",
    type=click.Choice(["generic", "okta", "entra", "google"]),
    default="generic",
    show_default=True,
    help="entra pins the tenant and keys users by oid; google requires a Workspace account.",
)
@click.option("--scope", "scopes", multiple=True, help="Repeat; default openid profile email.")
@click.option("--name", default=None)
@ca_bundle_option
@click.option(
    "--active", is_flag=True, help="Route logins to it at once (default: inactive until activated)."
)
@click.option("--json", "as_json", is_flag=True)
def connections_create_oidc(
    org_ref: str,
    issuer: str,
    client_id: str,
    client_secret_file: Path | None,
    private_key_jwt: bool,
    auth_method: str,
    vendor: str,
    scopes: tuple[str, ...],
    name: str | None,
    ca_bundle_file: Path | None,
    active: bool,
    as_json: bool,
) -> None:
    """Create an OIDC connection (the IdP's discovery document is fetched and checked first)
    and print the redirect URI the IdP admin must register."""
    if private_key_jwt == (client_secret_file is not None):
        raise click.UsageError("give exactly one of --client-secret-file or --private-key-jwt")
    settings: dict[str, object] = {
        "issuer": issuer,
        "client_id": client_id,
        "vendor": vendor,
        "token_endpoint_auth_method": "private_key_jwt" if private_key_jwt else auth_method,
    }
    if scopes:
        settings["scopes"] = list(scopes)
    if ca_bundle_file is not None:
        settings["ca_bundle"] = ca_bundle_file.read_text(errors="replace")
    secret = client_secret_file.read_text().strip() if client_secret_file else None
    if client_secret_file is not None and not secret:
        raise click.UsageError("the client secret file is empty")
    with unit_of_work() as uow:
        organization = find_organization(uow, org_ref)
    with management() as use_cases:
        saved = use_cases.connections.create_oidc(
            CLI_ACTOR, organization.id, settings, client_secret=secret, name=name, active=active
        )
        view = use_cases.connections.describe(saved.connection, saved.warnings)
    assert isinstance(view.settings, OidcView)
    oidc = view.settings
    data: dict[str, object] = {
        "id": view.id,
        "organization_id": organization.id,
        "issuer": issuer,
        "redirect_uri": oidc.redirect_uri,
        "active": view.active,
        "warnings": list(view.warnings),
    }
    lines = [
        view.id,
        "",
        "Give your IdP admin these values:",
        f"  Redirect URI (sign-in redirect / reply URL): {oidc.redirect_uri}",
    ]
    if oidc.jwks_uri is not None:
        data["jwks_uri"] = oidc.jwks_uri
        lines.append(f"  Client public keys (JWKS URL):               {oidc.jwks_uri}")
    lines += [f"warning: {w}" for w in view.warnings]
    lines += _inactive_hint(view)
    emit(as_json, data, lines)


def _inactive_hint(view: ConnectionView) -> list[str]:
    """A connection created without --active routes no login yet: say how to start."""
    if view.active:
        return []
    return [
        "",
        f"Inactive: once a test login works, run `gatehouse connections activate {view.id}`",
    ]


@connections.command("list")
@click.option("--org", "org_ref", default=None, help="Organization id or external id.")
@click.option("--json", "as_json", is_flag=True)
def connections_list(org_ref: str | None, as_json: bool) -> None:
    with unit_of_work() as uow:
        organizations = [find_organization(uow, org_ref)] if org_ref else uow.organizations.list()
    found: list[Connection] = []
    with management() as use_cases:
        for organization in organizations:
            found += _all_pages(use_cases.connections, organization.id)
    issuer = load_settings().issuer
    rows = [
        {
            "id": c.id,
            "organization_id": c.organization_id,
            "kind": c.kind,
            "name": c.name,
            "active": c.active,
            "callback_url": endpoints_for(issuer, c.id, c.kind).callback_url,
        }
        for c in found
    ]
    emit(
        as_json,
        {"connections": rows},
        [f"{r['id']}  {r['kind']}  {r['organization_id']}  {r['name']}" for r in rows]
        or ["no connections"],
    )


def _all_pages(connections: Connections, organization_id: str) -> list[Connection]:
    found: list[Connection] = []
    while True:
        after = (found[-1].created_at, found[-1].id) if found else None
        page = connections.page(organization_id, after=after, limit=_PAGE)
        found += page
        if len(page) < _PAGE:
            return found


def _organization_of(connection_id: str) -> str:
    """The organization a connection belongs to: the operator names a connection by its id
    alone, and the use cases take both (as the API's path does)."""
    with unit_of_work() as uow:
        try:
            return uow.connections.get(connection_id).organization_id
        except NotFound as exc:
            raise click.ClickException(f"no connection {connection_id!r}") from exc


def _shown(view: ConnectionView, as_json: bool) -> None:
    """A connection as the API's `ConnectionOut` (`--json`), or its main facts."""
    data = api_json(connection_out(view))
    lines = [
        f"{view.id}  {view.type}  {view.organization_id}  {view.name}",
        f"  active:   {'yes: logins route to it' if view.active else 'no'}",
        f"  version:  {view.version}",
        f"  created:  {view.created_at.isoformat()}",
    ]
    settings = data["settings"]
    if isinstance(settings, dict):
        lines += [
            f"  {name}: {value}"
            for name, value in settings.items()
            if isinstance(value, str | int | bool) and value != ""
        ]
    else:
        lines.append("  settings: they no longer pass Gatehouse's checks; update them")
    lines += [f"warning: {w}" for w in view.warnings]
    lines += _inactive_hint(view)
    emit(as_json, data, lines)


@connections.command("show")
@click.argument("connection_id")
@click.option("--json", "as_json", is_flag=True)
def connections_show(connection_id: str, as_json: bool) -> None:
    """A connection's settings (never a secret or a private key) and warnings."""
    _show_after(
        connection_id, as_json, lambda use_cases, org: use_cases.connections.get(org, connection_id)
    )


@connections.command("activate")
@click.argument("connection_id")
@click.option("--json", "as_json", is_flag=True)
def connections_activate(connection_id: str, as_json: bool) -> None:
    """Route the organization's logins to it (refused if its settings no longer pass)."""
    _show_after(
        connection_id,
        as_json,
        lambda use_cases, org: use_cases.connections.activate(CLI_ACTOR, org, connection_id),
    )


@connections.command("deactivate")
@click.argument("connection_id")
@click.option("--json", "as_json", is_flag=True)
def connections_deactivate(connection_id: str, as_json: bool) -> None:
    """Stop routing logins to it; its settings and users are kept."""
    _show_after(
        connection_id,
        as_json,
        lambda use_cases, org: use_cases.connections.deactivate(CLI_ACTOR, org, connection_id),
    )


def _show_after(
    connection_id: str, as_json: bool, step: Callable[[Management, str], Connection]
) -> None:
    """`step` on the connection in its organization's scope, then the connection as the API
    shows it."""
    organization_id = _organization_of(connection_id)
    with management() as use_cases:
        view = use_cases.connections.describe(step(use_cases, organization_id))
    _shown(view, as_json)


@connections.command("delete")
@click.argument("connection_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the connection as it was.")
def connections_delete(connection_id: str, yes: bool, as_json: bool) -> None:
    """Delete a connection and the users that logged in through it."""
    organization_id = _organization_of(connection_id)
    with management() as use_cases:
        found = use_cases.connections.get(organization_id, connection_id)
        view = use_cases.connections.describe(found)
    if not yes:
        click.confirm(
            f"Delete {found.kind} connection {found.id} ({found.name}) of {organization_id}, "
            "and the users that logged in through it?",
            abort=True,
        )
    with management() as use_cases:
        use_cases.connections.delete(CLI_ACTOR, organization_id, connection_id)
    emit(as_json, api_json(connection_out(view)), [f"deleted {found.id}"])
