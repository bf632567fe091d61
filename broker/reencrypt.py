"""Moving every secret stored at rest to the current GATEHOUSE_SECRET_KEY, so the keys in
GATEHOUSE_SECRET_KEYS_OLD can be removed (`gatehouse secrets reencrypt` and `status`).

What `SecretBox` encrypts and the database keeps:

- signing keys' private halves (`signing_keys.private_key_encrypted`);
- in each connection's settings and pending draft: a SAML connection's SP signing and
  encryption keys, an OIDC connection's client secret and `private_key_jwt` key;
- webhook endpoints' signing secrets (current and, during an overlap, previous).

Portal link URLs sealed for an idempotent retry are left alone: they live only as long as
their Idempotency-Key (24 hours) and a retry after the old key is
gone is refused cleanly, asking for a new link.

Work is done in batches, one unit of work each, so a large deployment never holds one long
transaction, and it is idempotent: what is already under the current key is left as it is,
and a connection edited meanwhile (a version conflict) is counted as remaining, for the next
run. Re-encrypting a connection's settings is a change to them (a new version, and a
different digest), so a test that passed but was not yet applied (a draft's switch-over, an
activation) must be run again.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from broker.keys import SecretBox
from broker.keys.manager import signing_key_context
from broker.model.records import AuditEvent, Connection
from broker.store import Conflict, Store, UnitOfWork
from broker.upstream.oidc.config import key_context as oidc_key_context, secret_context
from broker.upstream.saml.sp import key_context as saml_key_context
from broker.webhooks.signing import secret_context as webhook_secret_context

BATCH_SIZE = 100


@dataclass(frozen=True, slots=True)
class Reencryption:
    """`changed`: secrets rewritten under the current key by this run. `outdated`: secrets
    still under another key (or in the format before key ids) after it; zero means
    GATEHOUSE_SECRET_KEYS_OLD can be removed."""

    changed: int
    outdated: int


def reencrypt(store: Store, box: SecretBox, *, write: bool = True) -> Reencryption:
    """With `write=False`, only count (`gatehouse secrets status`)."""
    runs = [
        _signing_keys(store, box, write=write),
        _connections(store, box, write=write),
        _webhook_endpoints(store, box, write=write),
    ]
    return Reencryption(sum(r.changed for r in runs), sum(r.outdated for r in runs))


def record(
    store: Store, box: SecretBox, outcome: Reencryption, *, now: datetime, actor: str
) -> None:
    """An audit event for a run that changed something: when the stored secrets moved to
    which key (its id), and whether any were left behind."""
    event = AuditEvent(
        at=now,
        kind="secrets.reencrypted",
        actor=actor,
        detail={
            "key_id": box.current_key_id,
            "reencrypted": outcome.changed,
            "still_needing_old_keys": outcome.outdated,
        },
    )
    with store.unit_of_work() as uow:
        uow.audit.record(event)


def _signing_keys(store: Store, box: SecretBox, *, write: bool) -> Reencryption:
    """Few rows (NEXT, CURRENT and the recently RETIRED): one unit of work. A key rotated
    meanwhile is a Conflict, left for the next run."""
    changed = outdated = 0
    with store.unit_of_work() as uow:
        for record in uow.keys.list():
            context = signing_key_context(record.kid)
            fresh = box.reencrypt(record.private_key_encrypted, context=context)
            if fresh is None:
                continue
            if not write:
                outdated += 1
                continue
            try:
                uow.keys.transition(
                    record.kid,
                    from_state=record.state,
                    to=replace(record, private_key_encrypted=fresh),
                )
            except Conflict:
                outdated += 1
            else:
                changed += 1
    return Reencryption(changed, outdated)


def _webhook_endpoints(store: Store, box: SecretBox, *, write: bool) -> Reencryption:
    """Each page in one unit of work; an endpoint's secrets are rewritten together."""
    changed = outdated = 0
    after = None
    while True:
        with store.unit_of_work() as uow:
            page = uow.webhook_endpoints.page(after=after, limit=BATCH_SIZE)
            for endpoint in page:
                current = box.reencrypt(
                    endpoint.secret_encrypted, context=webhook_secret_context(endpoint.id)
                )
                previous = None
                if endpoint.previous_secret_encrypted is not None:
                    previous = box.reencrypt(
                        endpoint.previous_secret_encrypted,
                        context=webhook_secret_context(endpoint.id, "previous"),
                    )
                count = (current is not None) + (previous is not None)
                if not count:
                    continue
                if not write:
                    outdated += count
                    continue
                uow.webhook_endpoints.save(
                    replace(
                        endpoint,
                        secret_encrypted=current or endpoint.secret_encrypted,
                        previous_secret_encrypted=previous or endpoint.previous_secret_encrypted,
                    )
                )
                changed += count
        if len(page) < BATCH_SIZE:
            break
        after = (page[-1].created_at, page[-1].id)
    return Reencryption(changed, outdated)


def _connections(store: Store, box: SecretBox, *, write: bool) -> Reencryption:
    changed = outdated = 0
    for organization_id in _organization_ids(store):
        after = None
        while True:
            with store.unit_of_work() as uow:
                page = uow.connections.page(organization_id, after=after, limit=BATCH_SIZE)
                for connection in page:
                    count = _reencrypt_connection(uow, box, connection, write=write)
                    changed += count.changed
                    outdated += count.outdated
            if len(page) < BATCH_SIZE:
                break
            after = (page[-1].created_at, page[-1].id)
    return Reencryption(changed, outdated)


def _organization_ids(store: Store) -> Iterator[str]:
    after = None
    while True:
        with store.unit_of_work() as uow:
            page = uow.organizations.page(after=after, limit=BATCH_SIZE)
        yield from (organization.id for organization in page)
        if len(page) < BATCH_SIZE:
            return
        after = (page[-1].created_at, page[-1].id)


def _reencrypt_connection(
    uow: UnitOfWork, box: SecretBox, connection: Connection, *, write: bool
) -> Reencryption:
    fields = _encrypted_fields(connection)
    config = copy.deepcopy(dict(connection.config))
    draft = None if connection.draft is None else copy.deepcopy(dict(connection.draft))
    found = _rewrite(config, fields, box) + (_rewrite(draft, fields, box) if draft else 0)
    if not found:
        return Reencryption(0, 0)
    if not write:
        return Reencryption(0, found)
    try:
        uow.connections.save(
            replace(connection, config=config, draft=draft), expected_version=connection.version
        )
    except Conflict:
        return Reencryption(0, found)
    return Reencryption(found, 0)


def _encrypted_fields(connection: Connection) -> Sequence[tuple[tuple[str, ...], str]]:
    """Where a connection of each kind keeps ciphertexts (base64), and the context each
    was encrypted with."""
    cid = connection.id
    if connection.kind == "saml":
        return [
            (("sp_signing", "private_key_encrypted"), saml_key_context(cid, "signing")),
            (("sp_encryption", "private_key_encrypted"), saml_key_context(cid, "encryption")),
        ]
    if connection.kind == "oidc":
        return [
            (("client_secret_encrypted",), secret_context(cid)),
            (("client_key", "private_key_encrypted"), oidc_key_context(cid)),
        ]
    return []


def _rewrite(
    document: dict[str, Any], fields: Sequence[tuple[tuple[str, ...], str]], box: SecretBox
) -> int:
    """Re-encrypt, in place, each ciphertext of `document` not under the current key; how
    many there were."""
    count = 0
    for path, context in fields:
        parent: Any = document
        for name in path[:-1]:
            parent = parent.get(name) if isinstance(parent, dict) else None
        value = parent.get(path[-1]) if isinstance(parent, dict) else None
        if not isinstance(value, str):
            continue
        fresh = box.reencrypt(base64.b64decode(value), context=context)
        if fresh is not None:
            parent[path[-1]] = base64.b64encode(fresh).decode()
            count += 1
    return count
