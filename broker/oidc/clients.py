"""Registering downstream clients (the Auth0 tenant, the demo app), rotating their secrets
and disabling them.

The secret is returned once and stored as a hash: Gatehouse only needs to recognize it.
Redirect URIs are validated when registered so that `/authorize` can compare them byte for
byte and nothing else.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from broker.errors import ConfigError
from broker.model.opaque import hash_secret, new_secret
from broker.model.records import AuditEvent, DownstreamClient, OnRefusal
from broker.store import UnitOfWork

#: Matched whole (`fullmatch`): `$` would also accept one trailing newline.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{3,128}")
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client: DownstreamClient
    client_secret: str | None  # shown once; None for a public client


def validate_redirect_uri(uri: str) -> None:
    """RFC 6749 §3.1.2: absolute, no fragment. https, or http on a loopback address
    (RFC 8252 §7.3); anything else would send codes over the network in clear text."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.hostname:
        raise ConfigError("redirect_uri", f"{uri!r} is not an absolute URL")
    if parts.fragment or uri.endswith("#"):
        raise ConfigError("redirect_uri", f"{uri!r} must not contain a fragment")
    if "*" in uri:
        raise ConfigError("redirect_uri", "wildcards are not allowed; register each URI")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise ConfigError("redirect_uri", f"{uri!r} must use https (http only on loopback)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register_client(
    uow: UnitOfWork,
    *,
    name: str,
    redirect_uris: Sequence[str],
    now: datetime,
    client_id: str | None = None,
    client_secret: str | None = None,
    public: bool = False,
    on_refusal: OnRefusal = OnRefusal.PAGE,
) -> RegisteredClient:
    """Create a client. `client_id`/`client_secret` may be fixed by operators who keep
    configuration as code; otherwise both are generated (256-bit secret)."""
    if not name.strip():
        raise ConfigError("name", "is required")
    if not redirect_uris:
        raise ConfigError("redirect_uri", "at least one is required")
    for uri in redirect_uris:
        validate_redirect_uri(uri)
    if client_id is not None and not _CLIENT_ID.fullmatch(client_id):
        raise ConfigError("client_id", "3-128 characters of A-Z a-z 0-9 . _ ~ -")
    if public and client_secret is not None:
        raise ConfigError("client_secret", "a public client has no secret")
    if client_secret is not None and len(client_secret) < MIN_SECRET_LENGTH:
        raise ConfigError("client_secret", f"must be at least {MIN_SECRET_LENGTH} characters")
    secret = None if public else (client_secret or new_secret())
    client = DownstreamClient(
        client_id=client_id or f"gh_{new_secret()[:22]}",
        name=name.strip(),
        secret_hash=hash_secret(secret) if secret else None,
        redirect_uris=tuple(dict.fromkeys(redirect_uris)),
        created_at=now,
        on_refusal=on_refusal,
    )
    uow.clients.add(client)
    return RegisteredClient(client=client, client_secret=secret)


def rotate_client_secret(
    uow: UnitOfWork, client_id: str, *, now: datetime, actor: str
) -> RegisteredClient:
    """A new secret, returned once; the current one becomes the previous and stays valid
    until `revoke_previous_client_secret`, so the relying party can switch over without a
    failed login. A secret an earlier rotation left valid is dropped: at most two at once.
    NotFound if the client is absent; ConfigError for a public client."""
    client = uow.clients.get(client_id)
    if client.secret_hash is None:
        raise ConfigError("client_secret", "a public client has no secret to rotate")
    secret = new_secret()
    rotated = replace(
        client, secret_hash=hash_secret(secret), previous_secret_hash=client.secret_hash
    )
    uow.clients.save(rotated)
    _audit(uow, "client.secret_rotated", client_id, now=now, actor=actor)
    return RegisteredClient(client=rotated, client_secret=secret)


def revoke_previous_client_secret(
    uow: UnitOfWork, client_id: str, *, now: datetime, actor: str
) -> DownstreamClient:
    """The older secret stops working; refused (ConfigError) when there is only one, so the
    command can never lock a relying party out."""
    client = uow.clients.get(client_id)
    if client.previous_secret_hash is None:
        raise ConfigError("client_secret", "the client has only one secret; rotate it first")
    revoked = replace(client, previous_secret_hash=None)
    uow.clients.save(revoked)
    _audit(uow, "client.secret_revoked", client_id, now=now, actor=actor)
    return revoked


def set_client_disabled(
    uow: UnitOfWork, client_id: str, *, disabled: bool, now: datetime, actor: str
) -> DownstreamClient:
    """Disable (refused at /authorize and /token) or enable again. Idempotent: the first
    disabling time stays, and only a change is recorded."""
    client = uow.clients.get(client_id)
    if (client.disabled_at is not None) == disabled:
        return client
    changed = replace(client, disabled_at=now if disabled else None)
    uow.clients.save(changed)
    kind = "client.disabled" if disabled else "client.enabled"
    _audit(uow, kind, client_id, now=now, actor=actor)
    return changed


def set_client_on_refusal(
    uow: UnitOfWork, client_id: str, on_refusal: OnRefusal, *, now: datetime, actor: str
) -> DownstreamClient:
    """How the client hears of refused logins from now on (`OnRefusal`); only a change is
    recorded. NotFound if the client is absent."""
    client = uow.clients.get(client_id)
    if client.on_refusal is on_refusal:
        return client
    changed = replace(client, on_refusal=on_refusal)
    uow.clients.save(changed)
    uow.audit.record(
        AuditEvent(
            at=now,
            kind="client.on_refusal_changed",
            actor=actor,
            detail={"client_id": client_id, "on_refusal": on_refusal.value},
        )
    )
    return changed


def _audit(uow: UnitOfWork, kind: str, client_id: str, *, now: datetime, actor: str) -> None:
    """In the change's own unit of work: the change and its record commit together."""
    uow.audit.record(AuditEvent(at=now, kind=kind, actor=actor, detail={"client_id": client_id}))
