"""The signing key repository. Rotation is a sequence of compare-and-swap transitions, so of
two processes rotating at once, the one that loses a transition gets Conflict and its unit
of work rolls back whole."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broker.domain.model import SigningKeyRecord
from broker.store.protocols import Conflict, NotFound
from broker.store.sql.statements import affected, fresh, insert_or_raise
from broker.store.sql.tables import SigningKeyRow


class SqlKeyRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def list(self) -> Sequence[SigningKeyRecord]:
        query = select(SigningKeyRow).order_by(SigningKeyRow.created_at, SigningKeyRow.kid)
        return [_key(row) for row in self._session.scalars(fresh(query))]

    def add(self, key: SigningKeyRecord) -> None:
        statement = insert(SigningKeyRow).values(
            kid=key.kid,
            alg=key.alg,
            state=key.state,
            private_key_encrypted=key.private_key_encrypted,
            public_jwk=dict(key.public_jwk),
            created_at=key.created_at,
            activated_at=key.activated_at,
            retired_at=key.retired_at,
        )
        insert_or_raise(self._session, statement, f"signing key {key.kid!r}")

    def transition(self, kid: str, *, from_state: str, to: SigningKeyRecord) -> None:
        """Conflict also when `kid` is absent: either way the caller's view is stale."""
        if to.kid != kid:
            raise ValueError("a key transition cannot change the kid")
        statement = (
            update(SigningKeyRow)
            .filter_by(kid=kid, state=from_state)
            .values(
                alg=to.alg,
                state=to.state,
                private_key_encrypted=to.private_key_encrypted,
                public_jwk=dict(to.public_jwk),
                activated_at=to.activated_at,
                retired_at=to.retired_at,
            )
        )
        try:
            # A savepoint, so that a second live key refused by the unique index leaves the
            # caller's transaction usable (PostgreSQL aborts it otherwise).
            with self._session.begin_nested():
                changed_rows = affected(self._session, statement)
        except IntegrityError as exc:
            raise Conflict(f"another key is already {to.state!r}") from exc
        if changed_rows != 1:
            raise Conflict(f"signing key {kid!r} is not {from_state!r}")

    def delete(self, kid: str) -> None:
        """NotFound if absent, so a second process deleting the same key notices it lost."""
        changed_rows = affected(self._session, delete(SigningKeyRow).filter_by(kid=kid))
        if changed_rows != 1:
            raise NotFound(f"signing key {kid!r}")


def _key(row: SigningKeyRow) -> SigningKeyRecord:
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
