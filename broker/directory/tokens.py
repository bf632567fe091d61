"""Authenticating a directory's bearer token (issued by `model.directories.issue_token`:
256 random bits, shown once, stored as SHA-256).

The token is looked up by its hash (a unique index), then the stored hash is compared
with the computed one in constant time: the lookup's timing depends on a SHA-256 of the
presented value, which says nothing about any stored token. A token authenticates one
directory only: the one named in the URL must be its own.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from broker.model.directories import Directory, DirectoryState
from broker.model.opaque import hash_secret, looks_like_id
from broker.store.protocols import UnitOfWork


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a token was refused, for the directory's request log (the client hears only
    401 `invalid token`)."""

    reason: str


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


def authenticate(
    uow: UnitOfWork, directory_id: str, presented: str | None, now: datetime
) -> Directory | Refusal:
    if presented is None:
        return Refusal("no bearer token")
    if not looks_like_id(presented) or not looks_like_id(directory_id):
        return Refusal("unknown token")
    digest = hash_secret(presented)
    found = uow.directories.token_with_directory(digest)
    if found is None:
        return Refusal("unknown token")
    token, directory = found
    if not hmac.compare_digest(token.token_hash, digest):
        return Refusal("unknown token")
    if not hmac.compare_digest(token.directory_id, directory_id):
        return Refusal("token of another directory")
    if token.revoked_at is not None:
        return Refusal("revoked token")
    if not token.usable(now):
        return Refusal("expired token (replaced by a rotation)")
    if directory.state is not DirectoryState.ACTIVE:
        return Refusal("directory disabled")
    return directory
