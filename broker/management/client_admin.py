"""Rotating a management client's secret and disabling it, by the operator (the CLI).

The same steps as for login clients (`broker.oidc.clients`): a rotation returns a new secret
once and keeps the old one valid until it is revoked, so the backend can be redeployed with
the new secret first; disabling is reversible, unlike revoking. Each change is an audit
event, committed in the change's own unit of work.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from broker.errors import ConfigError
from broker.management.access import RegisteredClient
from broker.model.management import ManagementClient
from broker.model.opaque import hash_secret, new_secret
from broker.model.records import AuditEvent
from broker.store import UnitOfWork


def rotate_secret(
    uow: UnitOfWork, client_id: str, *, now: datetime, actor: str
) -> RegisteredClient:
    """At most two secrets at once: one an earlier rotation left valid is dropped.
    NotFound if the client is absent."""
    client = uow.management_clients.get(client_id)
    secret = new_secret()
    rotated = replace(
        client, secret_hash=hash_secret(secret), previous_secret_hash=client.secret_hash
    )
    uow.management_clients.save(rotated)
    _audit(uow, "management_client.secret_rotated", client_id, now=now, actor=actor)
    return RegisteredClient(client=rotated, client_secret=secret)


def revoke_previous_secret(
    uow: UnitOfWork, client_id: str, *, now: datetime, actor: str
) -> ManagementClient:
    """Refused (ConfigError) when there is only one: that would lock the backend out."""
    client = uow.management_clients.get(client_id)
    if client.previous_secret_hash is None:
        raise ConfigError("client_secret", "the client has only one secret; rotate it first")
    revoked = replace(client, previous_secret_hash=None)
    uow.management_clients.save(revoked)
    _audit(uow, "management_client.secret_revoked", client_id, now=now, actor=actor)
    return revoked


def set_disabled(
    uow: UnitOfWork, client_id: str, *, disabled: bool, now: datetime, actor: str
) -> ManagementClient:
    """Idempotent: the first disabling time stays, and only a change is recorded."""
    client = uow.management_clients.get(client_id)
    if (client.disabled_at is not None) == disabled:
        return client
    changed = replace(client, disabled_at=now if disabled else None)
    uow.management_clients.save(changed)
    kind = "management_client.disabled" if disabled else "management_client.enabled"
    _audit(uow, kind, client_id, now=now, actor=actor)
    return changed


def _audit(uow: UnitOfWork, kind: str, client_id: str, *, now: datetime, actor: str) -> None:
    uow.audit.record(AuditEvent(at=now, kind=kind, actor=actor, detail={"client_id": client_id}))
