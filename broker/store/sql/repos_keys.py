"""The signing key repository. Rotation is a sequence of compare-and-swap transitions, so of
two processes rotating at once, the one that loses a transition gets Conflict and its unit
of work rolls back whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from broker.model.records import SigningKeyRecord
from broker.store.protocols import Conflict, NotFound
from broker.store.sql.statements import affected, all_rows, insert_or_raise
from broker.store.sql.tables import signing_keys

_KID = bindparam("p_kid", type_=signing_keys.c.kid.type)
_LIST_KEYS = select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.kid)
_INSERT_KEY = insert(signing_keys)
_TRANSITION = (
    update(signing_keys)
    .where(signing_keys.c.kid == _KID, signing_keys.c.state == bindparam("p_from_state"))
    .values(
        {
            column: bindparam(f"p_{column}", type_=signing_keys.c[column].type)
            for column in (
                "alg",
                "state",
                "private_key_encrypted",
                "public_jwk",
                "activated_at",
                "retired_at",
            )
        }
    )
)
_DELETE_KEY = delete(signing_keys).where(signing_keys.c.kid == _KID)


class SqlKeyRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def list(self) -> Sequence[SigningKeyRecord]:
        return [_key(row) for row in all_rows(self._connection, _LIST_KEYS, {})]

    def add(self, key: SigningKeyRecord) -> None:
        """No savepoint: the one caller (`ensure_keys`) lets AlreadyExists end the unit of
        work and starts again."""
        params = {
            "kid": key.kid,
            "alg": key.alg,
            "state": key.state,
            "private_key_encrypted": key.private_key_encrypted,
            "public_jwk": dict(key.public_jwk),
            "created_at": key.created_at,
            "activated_at": key.activated_at,
            "retired_at": key.retired_at,
        }
        insert_or_raise(self._connection, _INSERT_KEY, params, f"signing key {key.kid!r}")

    def transition(self, kid: str, *, from_state: str, to: SigningKeyRecord) -> None:
        """Conflict also when `kid` is absent: either way the caller's view is stale."""
        if to.kid != kid:
            raise ValueError("a key transition cannot change the kid")
        params = {
            "p_kid": kid,
            "p_from_state": from_state,
            "p_alg": to.alg,
            "p_state": to.state,
            "p_private_key_encrypted": to.private_key_encrypted,
            "p_public_jwk": dict(to.public_jwk),
            "p_activated_at": to.activated_at,
            "p_retired_at": to.retired_at,
        }
        try:
            # A savepoint, so that a second live key refused by the unique index leaves the
            # caller's transaction usable (PostgreSQL aborts it otherwise).
            with self._connection.begin_nested():
                changed_rows = affected(self._connection, _TRANSITION, params)
        except IntegrityError as exc:
            raise Conflict(f"another key is already {to.state!r}") from exc
        if changed_rows != 1:
            raise Conflict(f"signing key {kid!r} is not {from_state!r}")

    def delete(self, kid: str) -> None:
        """NotFound if absent, so a second process deleting the same key notices it lost."""
        if affected(self._connection, _DELETE_KEY, {"p_kid": kid}) != 1:
            raise NotFound(f"signing key {kid!r}")


def _key(row: Row[Any]) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=row.kid,
        alg=row.alg,
        state=row.state,
        private_key_encrypted=row.private_key_encrypted,
        public_jwk=row.public_jwk,
        created_at=row.created_at,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
    )
