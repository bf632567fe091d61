"""`connect` and `sync`: Gatehouse's store, its client for Auth0 and the Management API
together. The decisions are in `options` and `aliases`; this module only reads, decides
through them, and writes.

A client for Auth0 is drawn (id, secret) before the Management API call and stored only
once Auth0 has taken the connection that names it: a refusal (a 409, a rate limit) leaves
no orphan client behind, and no database transaction is held open across Auth0's answers
and retries (on SQLite that would hold the write lock the running broker needs). Should
storing fail after Auth0 took it, the connection names a client Gatehouse does not have,
and the next `connect` registers one and gives Auth0 its secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from broker.auth0.aliases import AliasPlan, plan_aliases, read_record, write_record
from broker.auth0.api import Auth0Refused, ManagementApi, RemoteConnection
from broker.auth0.options import GatehouseSide, connection_options, with_aliases
from broker.model.opaque import looks_like_id, new_id, new_secret
from broker.oidc.clients import register_client, validate_redirect_uri
from broker.store import NotFound, Store, UnitOfWork


class NotConnected(Exception):
    """`sync` found no Gatehouse connection of that name: `connect` must run first."""


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    connection_name: str
    issuer: str
    #: Auth0's callback, `https://DOMAIN/login/callback`, and one per custom domain.
    callback_urls: tuple[str, ...]
    #: The Auth0 applications (client ids) that may log in through the connection.
    applications: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConnectOutcome:
    connection_id: str
    created: bool
    gatehouse_client_id: str
    #: True when this run registered the Gatehouse client (its secret went to Auth0 only).
    client_registered: bool
    plan: AliasPlan
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SyncPlan:
    connection: RemoteConnection
    options: dict[str, Any]
    plan: AliasPlan


def verified_domains(uow: UnitOfWork) -> list[str]:
    """Every organization's verified domains: the ones Gatehouse routes logins for."""
    return sorted({d.name for d in uow.domains.list() if d.verified_at is not None})


def connect(
    api: ManagementApi, store: Store, request: ConnectRequest, *, now: datetime
) -> ConnectOutcome:
    """Create or update the connection, reusing the Gatehouse client it already names (no
    secret is rotated), and enable it for the named applications."""
    existing = api.find_connection(request.connection_name)
    current_options = _options_of(existing) if existing else None
    warnings: list[str] = []
    with store.unit_of_work() as uow:
        known_id = _known_client(uow, current_options, request, warnings)
        verified = verified_domains(uow)
    if known_id is not None:
        side = GatehouseSide(issuer=request.issuer, client_id=known_id)
    else:
        for uri in request.callback_urls:
            validate_redirect_uri(uri)  # refused before Auth0 is asked anything
        side = GatehouseSide(
            issuer=request.issuer, client_id=new_id("gh"), client_secret=new_secret()
        )
    plan = plan_aliases(
        (current_options or {}).get("domain_aliases") or [],
        read_record(existing.metadata if existing else None),
        verified,
    )
    metadata = write_record(existing.metadata if existing else None, plan.added_by_gatehouse)
    options = connection_options(side, plan.aliases, current_options)
    if existing is not None:
        api.update_connection(existing, options=options, metadata=metadata)
        connection_id = existing.id
    else:
        connection_id = api.create_connection(
            name=request.connection_name, options=options, metadata=metadata
        ).id
    if side.client_secret is not None:
        with store.unit_of_work() as uow:
            register_client(
                uow,
                name=f"Auth0 connection {request.connection_name}",
                redirect_uris=request.callback_urls,
                now=now,
                client_id=side.client_id,
                client_secret=side.client_secret,
            )
    api.enable_for(connection_id, request.applications)
    return ConnectOutcome(
        connection_id=connection_id,
        created=existing is None,
        gatehouse_client_id=side.client_id,
        client_registered=known_id is None,
        plan=plan,
        warnings=tuple(warnings),
    )


def plan_sync(api: ManagementApi, store: Store, connection_name: str) -> SyncPlan:
    """What `sync` would change, read fresh from Auth0 and the store."""
    existing = api.find_connection(connection_name)
    if existing is None:
        raise NotConnected(
            f"Auth0 has no OpenID Connect connection named {connection_name!r}: "
            "run gatehouse auth0 connect first"
        )
    options = _options_of(existing)
    with store.unit_of_work() as uow:
        verified = verified_domains(uow)
    plan = plan_aliases(
        options.get("domain_aliases") or [], read_record(existing.metadata), verified
    )
    return SyncPlan(connection=existing, options=options, plan=plan)


def apply_sync(api: ManagementApi, planned: SyncPlan) -> None:
    """Write the plan: the options as Auth0 returned them but for the IdP domains, and the
    record of Gatehouse's aliases (`metadata`). Nothing is sent when nothing changes."""
    metadata = write_record(planned.connection.metadata, planned.plan.added_by_gatehouse)
    if not planned.plan.changes and metadata == planned.connection.metadata:
        return
    api.update_connection(
        planned.connection,
        options=with_aliases(planned.options, planned.plan.aliases),
        metadata=metadata,
    )


def _options_of(connection: RemoteConnection) -> dict[str, Any]:
    """PATCH replaces the options whole, so changing them without having read them would
    erase the app team's settings (and the client secret Auth0 holds). Options whose
    fields Gatehouse reads are not of the shape Auth0 defines are refused, not guessed at."""
    options = connection.options
    if options is None:
        raise Auth0Refused(
            f"Auth0 returned connection {connection.id} without its options: the M2M "
            "application needs the read:connections_options scope"
        )
    aliases = options.get("domain_aliases")
    if aliases is not None and not (
        isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)
    ):
        raise Auth0Refused(f"connection {connection.id}: domain_aliases is not a list of names")
    if not isinstance(options.get("upstream_params") or {}, dict):
        raise Auth0Refused(f"connection {connection.id}: upstream_params is not an object")
    return options


def _known_client(
    uow: UnitOfWork,
    options: dict[str, Any] | None,
    request: ConnectRequest,
    warnings: list[str],
) -> str | None:
    """The Gatehouse client the connection already names, when Gatehouse has it."""
    client_id = (options or {}).get("client_id")
    if not isinstance(client_id, str) or not looks_like_id(client_id):
        return None
    try:
        client = uow.clients.get(client_id)
    except NotFound:
        warnings.append(
            f"the connection named client {client_id!r}, which this Gatehouse does not "
            "have: a new client was registered and its secret given to Auth0"
        )
        return None
    missing = _missing(request.callback_urls, client.redirect_uris)
    if missing:
        warnings.append(
            f"client {client_id} does not list {', '.join(missing)} as a redirect URI; "
            "Auth0's logins through that domain will be refused"
        )
    if client.disabled_at is not None:
        warnings.append(f"client {client_id} is disabled: gatehouse clients enable {client_id}")
    return client_id


def _missing(wanted: Sequence[str], registered: Sequence[str]) -> list[str]:
    return [uri for uri in wanted if uri not in registered]
