"""`gatehouse`: the operator's command line. Every command that creates something can print
JSON (`--json`) for configuration-as-code pipelines."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from broker.app import build_broker
from broker.clock import SystemClock
from broker.domain.model import AuditEvent, Domain, Organization
from broker.domain.names import InvalidDomain, normalize_domain
from broker.domain.opaque import new_id
from broker.errors import BrokerError, ConfigError
from broker.oidc.clients import register_client
from broker.provisioning import create_saml_connection, read_idp_metadata
from broker.settings import Settings
from broker.store import AlreadyExists, NotFound, UnitOfWork
from broker.store.sql import SqlStore, make_engine
from broker.store.sql.migrate import upgrade_to_head
from broker.upstream.saml.idp_metadata import IdpMetadata
from broker.upstream.urls import endpoints_for


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from exc


def _prepare_sqlite_dir(settings: Settings) -> None:
    if settings.database.url.startswith("sqlite:///"):
        Path(settings.database.url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )


def _emit(as_json: bool, data: dict[str, Any], lines: Sequence[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            click.echo(line)


@click.group()
@click.option("--verbose", "-v", is_flag=True, help="Log at INFO level.")
def cli(verbose: bool) -> None:
    """Gatehouse: an enterprise SSO broker."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema to the latest version and make sure signing keys exist."""
    settings = _settings()
    _prepare_sqlite_dir(settings)
    upgrade_to_head(make_engine(settings.database.url))
    build_broker(settings).keys.ensure_keys()
    click.echo("database is at the latest schema; signing keys are in place")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Run the broker (the OpenID provider and the login pages)."""
    import uvicorn

    _settings()  # fail fast, before the server starts, on bad configuration
    uvicorn.run(
        "broker.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
    )


@cli.command()
@click.option("--broker-port", default=8000, show_default=True, type=int)
@click.option("--demo-port", default=8100, show_default=True, type=int)
@click.option("--simulator-port", default=8200, show_default=True, type=int)
def demo(broker_port: int, demo_port: int, simulator_port: int) -> None:
    """Migrate, seed the demo, and run the broker, the IdP simulator and the demo app on
    127.0.0.1."""
    from broker.demo import run_demo

    settings = _settings()
    _prepare_sqlite_dir(settings)
    upgrade_to_head(make_engine(settings.database.url))
    run_demo(settings, broker_port=broker_port, demo_port=demo_port, simulator_port=simulator_port)


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
@click.option("--json", "as_json", is_flag=True)
def clients_create(
    name: str,
    redirect_uris: tuple[str, ...],
    client_id: str | None,
    client_secret_file: Path | None,
    public: bool,
    as_json: bool,
) -> None:
    """Register a client; its secret is printed once and stored hashed."""
    broker = build_broker(_settings())
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
        "issuer": broker.settings.issuer,
    }
    lines = [f"client_id:     {client.client_id}"]
    if registered.client_secret and not client_secret_file:
        lines.append(f"client_secret: {registered.client_secret}   (shown once; store it now)")
    lines.append(f"issuer:        {broker.settings.issuer}")
    if client_secret_file:
        data["client_secret"] = None
    _emit(as_json, data, lines)


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
def clients_list(as_json: bool) -> None:
    broker = build_broker(_settings())
    with broker.store.unit_of_work() as uow:
        found = uow.clients.list()
    rows = [
        {
            "client_id": c.client_id,
            "name": c.name,
            "public": c.is_public,
            "redirect_uris": list(c.redirect_uris),
            "created_at": c.created_at.isoformat(),
        }
        for c in found
    ]
    _emit(
        as_json,
        {"clients": rows},
        [f"{c.client_id}  {c.name}  {' '.join(c.redirect_uris)}" for c in found] or ["no clients"],
    )


@cli.group()
def keys() -> None:
    """The keys Gatehouse signs ID tokens with."""


@keys.command("rotate")
@click.option("--json", "as_json", is_flag=True)
def keys_rotate(as_json: bool) -> None:
    """Promote the published NEXT key to signing, retire the old one, publish a new NEXT.
    Logins in flight are unaffected: both keys stay in the JWKS."""
    broker = build_broker(_settings())
    broker.keys.ensure_keys()
    current = broker.keys.rotate()
    _emit(as_json, {"current_kid": current.kid}, [f"now signing with {current.kid}"])


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    broker = build_broker(_settings())
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
    _emit(as_json, {"keys": rows}, [f"{r['kid']}  {r['state']}" for r in rows] or ["no keys"])


@contextmanager
def _unit_of_work() -> Iterator[UnitOfWork]:
    """Organizations and domains need only the database, not keys or the login machinery."""
    engine = make_engine(_settings().database.url)
    try:
        with SqlStore(engine).unit_of_work() as uow:
            yield uow
    finally:
        engine.dispose()


def _organization_json(organization: Organization) -> dict[str, Any]:
    return {
        "id": organization.id,
        "name": organization.name,
        "external_id": organization.external_id,
        "created_at": organization.created_at.isoformat(),
    }


def _domain_json(domain: Domain) -> dict[str, Any]:
    return {
        "name": domain.name,
        "organization_id": domain.organization_id,
        "verified": domain.is_verified,
        "verified_at": domain.verified_at.isoformat() if domain.verified_at else None,
    }


def _find_organization(uow: UnitOfWork, ref: str) -> Organization:
    """`ref` is an organization id or an external id; refused if it names two different
    organizations (an external id that happens to be another organization's id)."""
    found: dict[str, Organization] = {}
    try:
        by_id = uow.organizations.get(ref)
        found[by_id.id] = by_id
    except NotFound:
        pass
    try:
        by_external_id = uow.organizations.get_by_external_id(ref)
        found[by_external_id.id] = by_external_id
    except NotFound:
        pass
    if not found:
        raise click.ClickException(f"no organization has the id or external id {ref!r}")
    if len(found) > 1:
        raise click.ClickException(
            f"{ref!r} is the id of one organization and the external id of another; "
            "use the id: " + ", ".join(sorted(found))
        )
    return next(iter(found.values()))


def _domain_name(raw: str) -> str:
    try:
        return normalize_domain(raw)
    except InvalidDomain as exc:
        raise click.ClickException(f"invalid domain {raw!r}: {exc}") from exc


@cli.group()
def orgs() -> None:
    """Organizations: your customers, each with its domains and identity providers."""


@orgs.command("create")
@click.option("--name", required=True)
@click.option("--external-id", default=None, help="Your own key for this customer (unique).")
@click.option("--json", "as_json", is_flag=True)
def orgs_create(name: str, external_id: str | None, as_json: bool) -> None:
    """Create an organization and print its id."""
    organization = Organization(
        id=new_id("org"), name=name, external_id=external_id, created_at=SystemClock().now()
    )
    try:
        with _unit_of_work() as uow:
            uow.organizations.add(organization)
    except AlreadyExists as exc:
        raise click.ClickException(
            f"external id {external_id!r} is already used by another organization"
        ) from exc
    _emit(as_json, _organization_json(organization), [organization.id])


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True)
def orgs_list(as_json: bool) -> None:
    with _unit_of_work() as uow:
        found = uow.organizations.list()
    _emit(
        as_json,
        {"organizations": [_organization_json(o) for o in found]},
        [f"{o.id}  {o.name}  {o.external_id or '-'}" for o in found] or ["no organizations"],
    )


@cli.group()
def domains() -> None:
    """Email domains: a verified domain routes its users' logins to its organization."""


@domains.command("add")
@click.option("--org", "org_ref", required=True, help="Organization id or external id.")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True)
def domains_add(org_ref: str, domain: str, as_json: bool) -> None:
    """Claim DOMAIN for an organization (unverified: it routes nothing until verified).
    A domain belongs to at most one organization."""
    name = _domain_name(domain)
    with _unit_of_work() as uow:
        organization = _find_organization(uow, org_ref)
        claimed = Domain(organization_id=organization.id, name=name)
        try:
            uow.domains.add(claimed)
        except AlreadyExists as exc:
            holder = uow.domains.get(name).organization_id
            whose = "this organization" if holder == organization.id else holder
            raise click.ClickException(
                f"{name} is already claimed by {whose}: a domain belongs to at most one "
                "organization"
            ) from exc
    shown = name if name == domain.strip().lower() else f"{name} (typed as {domain.strip()!r})"
    _emit(
        as_json,
        _domain_json(claimed),
        [f"claimed {shown} for {organization.id}; not verified, so it routes no logins yet"],
    )


@domains.command("verify")
@click.option("--org", "org_ref", required=True, help="Organization id or external id.")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True)
def domains_verify(org_ref: str, domain: str, as_json: bool) -> None:
    """Mark DOMAIN verified for the organization, on your word as operator.

    Verification by DNS TXT record comes later. Until then this is an assertion that the
    organization owns the domain: a verified domain routes every login for it to this
    organization's IdP, and its addresses are sent to your app as `email_verified`.
    """
    name = _domain_name(domain)
    now = SystemClock().now()
    with _unit_of_work() as uow:
        organization = _find_organization(uow, org_ref)
        try:
            current = uow.domains.get(name)
        except NotFound as exc:
            raise click.ClickException(
                f"{name} is not claimed; run `gatehouse domains add --org {org_ref} {name}` first"
            ) from exc
        if current.organization_id != organization.id:
            raise click.ClickException(
                f"{name} belongs to another organization ({current.organization_id}): a "
                "domain belongs to at most one organization"
            )
        already = current.is_verified
        if not already:
            current = Domain(organization_id=organization.id, name=name, verified_at=now)
            uow.domains.save(current)
            uow.audit.record(
                AuditEvent(
                    at=now,
                    kind="domain.verified",
                    reason="operator_assertion",
                    organization_id=organization.id,
                    detail={"domain": name, "method": "cli"},
                )
            )
    if already:
        lines = [f"{name} was already verified for {organization.id}"]
    else:
        lines = [
            f"{name} is now verified for {organization.id}",
            "note: this is your assertion as operator; DNS TXT verification comes later",
        ]
    _emit(as_json, _domain_json(current), lines)


@domains.command("list")
@click.option("--org", "org_ref", default=None, help="Only this organization's domains.")
@click.option("--json", "as_json", is_flag=True)
def domains_list(org_ref: str | None, as_json: bool) -> None:
    with _unit_of_work() as uow:
        organization_id = _find_organization(uow, org_ref).id if org_ref else None
        found = uow.domains.list(organization_id=organization_id)
    _emit(
        as_json,
        {"domains": [_domain_json(d) for d in found]},
        [
            f"{d.name}  {d.organization_id}  {'verified' if d.is_verified else 'unverified'}"
            for d in found
        ]
        or ["no domains"],
    )


def main(argv: Sequence[str] | None = None) -> None:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="gatehouse")
    except BrokerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


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
    settings = _settings()
    broker = build_broker(settings)
    with _unit_of_work() as uow:
        organization = _find_organization(uow, org_ref)
    try:
        if entity_id is not None:
            if not sso_url or not cert_files:
                raise click.UsageError("--entity-id needs --sso-url and at least one --cert")
            idp = IdpMetadata(
                entity_id=entity_id,
                sso_url=sso_url,
                sso_binding="redirect",
                certificates=tuple(path.read_text() for path in cert_files),
            )
        else:
            idp = read_idp_metadata(
                broker,
                url=metadata_url,
                document=metadata_file.read_bytes() if metadata_file else None,
            )
        created = create_saml_connection(
            broker,
            organization_id=organization.id,
            idp=idp,
            name=name,
            options={"attribute_profile": attribute_profile, "allow_sha1": allow_sha1},
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        broker.close()
    endpoints = created.endpoints
    data = {
        "id": created.connection.id,
        "organization_id": organization.id,
        "idp_entity_id": idp.entity_id,
        "acs_url": endpoints.callback_url,
        "sp_entity_id": endpoints.entity_id,
        "sp_metadata_url": endpoints.metadata_url,
        "warnings": list(created.warnings),
    }
    lines = [
        created.connection.id,
        "",
        "Give your IdP admin these values:",
        f"  ACS URL (Reply URL):      {endpoints.callback_url}",
        f"  SP entity ID (Audience):  {endpoints.entity_id}",
        f"  SP metadata URL:          {endpoints.metadata_url}",
        *(f"warning: {w}" for w in created.warnings),
    ]
    _emit(as_json, data, lines)


@connections.command("list")
@click.option("--org", "org_ref", default=None, help="Organization id or external id.")
@click.option("--json", "as_json", is_flag=True)
def connections_list(org_ref: str | None, as_json: bool) -> None:
    with _unit_of_work() as uow:
        organizations = [_find_organization(uow, org_ref)] if org_ref else uow.organizations.list()
        found = [c for o in organizations for c in uow.connections.for_organization(o.id)]
    issuer = _settings().issuer
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
    _emit(
        as_json,
        {"connections": rows},
        [f"{r['id']}  {r['kind']}  {r['organization_id']}  {r['name']}" for r in rows]
        or ["no connections"],
    )
