"""Repositories of the OAuth side: downstream clients, flows, codes and access tokens.

Single use is enforced by the database, not by read-then-write in Python: `consume` is one
conditional UPDATE whose WHERE clause states "still live", and exactly one concurrent caller
can see a row count of 1 (PostgreSQL re-checks the clause against the committed row after
waiting on the row lock; SQLite serializes writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.orm import Session

from broker.domain.model import (
    AccessToken,
    AuthorizationCode,
    AuthorizationRequest,
    DownstreamClient,
    PendingAuthorization,
)
from broker.store.protocols import CodeReplayed, NotFound
from broker.store.sql.statements import affected, fresh, insert_or_raise
from broker.store.sql.tables import AccessTokenRow, AuthorizationCodeRow, ClientRow, FlowRow


class SqlClientRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, client: DownstreamClient) -> None:
        statement = insert(ClientRow).values(
            client_id=client.client_id,
            name=client.name,
            secret_hash=client.secret_hash,
            redirect_uris=list(client.redirect_uris),
            created_at=client.created_at,
        )
        insert_or_raise(self._session, statement, f"client {client.client_id!r}")

    def get(self, client_id: str) -> DownstreamClient:
        row = self._session.scalar(fresh(select(ClientRow).filter_by(client_id=client_id)))
        if row is None:
            raise NotFound(f"client {client_id!r}")
        return _client(row)

    def list(self) -> Sequence[DownstreamClient]:
        query = select(ClientRow).order_by(ClientRow.created_at, ClientRow.client_id)
        return [_client(row) for row in self._session.scalars(fresh(query))]

    def delete(self, client_id: str) -> None:
        affected(self._session, delete(ClientRow).filter_by(client_id=client_id))


class SqlFlowRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def create(self, flow: PendingAuthorization) -> None:
        statement = insert(FlowRow).values(
            id=flow.id,
            request=_request_json(flow.request),
            connection_id=flow.connection_id,
            connector_state=flow.connector_state,
            browser_binding=flow.browser_binding,
            created_at=flow.created_at,
            expires_at=flow.expires_at,
        )
        insert_or_raise(self._session, statement, "flow")

    def get(self, flow_id: str, *, now: datetime) -> PendingAuthorization:
        query = select(FlowRow).where(FlowRow.id == flow_id, *_live_flow(now))
        row = self._session.scalar(fresh(query))
        if row is None:
            raise NotFound("flow")
        return _flow(row)

    def update(
        self,
        flow_id: str,
        change: Callable[[PendingAuthorization], PendingAuthorization],
        *,
        now: datetime,
    ) -> PendingAuthorization:
        """Only the request, connection and connector state may change: the id is the
        correlation handle and the expiry was fixed at creation, so updates cannot keep a
        flow alive past its TTL. The browser binding may be set once, never replaced: a
        flow bound to one browser cannot be re-bound to another."""
        query = select(FlowRow).where(FlowRow.id == flow_id, *_live_flow(now)).with_for_update()
        row = self._session.scalar(fresh(query))
        if row is None:
            raise NotFound("flow")
        current = _flow(row)
        changed = change(current)
        if (changed.id, changed.created_at, changed.expires_at) != (
            current.id,
            current.created_at,
            current.expires_at,
        ):
            raise ValueError("a flow's id, created_at and expires_at cannot change")
        if current.browser_binding not in (None, changed.browser_binding):
            raise ValueError("a flow's browser binding cannot change once set")
        changed_rows = affected(
            self._session,
            update(FlowRow)
            .where(FlowRow.id == flow_id, *_live_flow(now))
            .values(
                request=_request_json(changed.request),
                connection_id=changed.connection_id,
                connector_state=changed.connector_state,
                browser_binding=changed.browser_binding,
            ),
        )
        if changed_rows != 1:
            raise NotFound("flow")
        return changed

    def consume(self, flow_id: str, *, now: datetime) -> PendingAuthorization:
        changed_rows = affected(
            self._session,
            update(FlowRow).where(FlowRow.id == flow_id, *_live_flow(now)).values(consumed_at=now),
        )
        if changed_rows != 1:
            raise NotFound("flow")
        row = self._session.scalars(fresh(select(FlowRow).filter_by(id=flow_id))).one()
        return _flow(row)

    def purge_expired(self, *, now: datetime) -> int:
        """Delete expired flows, and expired codes none of whose access tokens is still
        live: a code outlives its own TTL for as long as a token issued from it does, so a
        replay of it is still recognized (and its tokens revoked), RFC 6749 §4.1.2. Access
        tokens go with their code (ON DELETE CASCADE)."""
        flows = affected(self._session, delete(FlowRow).where(FlowRow.expires_at <= now))
        live_token = exists().where(
            AccessTokenRow.code_hash == AuthorizationCodeRow.code_hash,
            AccessTokenRow.expires_at > now,
        )
        codes = affected(
            self._session,
            delete(AuthorizationCodeRow).where(AuthorizationCodeRow.expires_at <= now, ~live_token),
        )
        return flows + codes


class SqlCodeRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, code: AuthorizationCode) -> None:
        statement = insert(AuthorizationCodeRow).values(
            code_hash=code.code_hash,
            client_id=code.client_id,
            redirect_uri=code.redirect_uri,
            scope=list(code.scope),
            nonce=code.nonce,
            code_challenge=code.code_challenge,
            code_challenge_method=code.code_challenge_method,
            claims=dict(code.claims),
            auth_time=code.auth_time,
            issued_at=code.issued_at,
            expires_at=code.expires_at,
        )
        insert_or_raise(self._session, statement, "authorization code")

    def consume(self, code_hash: str, *, now: datetime) -> AuthorizationCode | CodeReplayed:
        codes = AuthorizationCodeRow
        changed_rows = affected(
            self._session,
            update(codes)
            .where(
                codes.code_hash == code_hash,
                codes.consumed_at.is_(None),
                codes.revoked_at.is_(None),
                codes.expires_at > now,
            )
            .values(consumed_at=now),
        )
        row = self._session.scalar(fresh(select(codes).filter_by(code_hash=code_hash)))
        if changed_rows == 1 and row is not None:
            return _code(row)
        if row is not None and row.consumed_at is not None:
            return CodeReplayed(client_id=row.client_id)
        raise NotFound("authorization code")

    def revoke(self, code_hash: str, *, now: datetime) -> None:
        """Idempotent, and silent for an unknown code: revocation must never fail the
        caller's replay handling, and an absent code has nothing left to revoke."""
        affected(
            self._session,
            update(AuthorizationCodeRow)
            .where(
                AuthorizationCodeRow.code_hash == code_hash,
                AuthorizationCodeRow.revoked_at.is_(None),
            )
            .values(revoked_at=now),
        )


class SqlAccessTokenRepo:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: AccessToken) -> None:
        statement = insert(AccessTokenRow).values(
            token_hash=token.token_hash,
            code_hash=token.code_hash,
            client_id=token.client_id,
            scope=list(token.scope),
            claims=dict(token.claims),
            issued_at=token.issued_at,
            expires_at=token.expires_at,
        )
        insert_or_raise(self._session, statement, "access token")

    def get(self, token_hash: str, *, now: datetime) -> AccessToken:
        """Revocation is read through the join at every use, so a token inserted after (or
        concurrently with) its code's revocation is dead too."""
        query = (
            select(AccessTokenRow)
            .join(AuthorizationCodeRow)
            .where(
                AccessTokenRow.token_hash == token_hash,
                AccessTokenRow.expires_at > now,
                AuthorizationCodeRow.revoked_at.is_(None),
            )
        )
        row = self._session.scalar(fresh(query))
        if row is None:
            raise NotFound("access token")
        return _token(row)


def _live_flow(now: datetime) -> tuple[Any, ...]:
    return (FlowRow.consumed_at.is_(None), FlowRow.expires_at > now)


def _client(row: ClientRow) -> DownstreamClient:
    return DownstreamClient(
        client_id=row.client_id,
        name=row.name,
        secret_hash=row.secret_hash,
        redirect_uris=tuple(row.redirect_uris),
        created_at=row.created_at,
    )


_TUPLE_REQUEST_FIELDS = ("scope", "prompt")
_REQUEST_FIELDS = tuple(f.name for f in fields(AuthorizationRequest))


def _request_json(request: AuthorizationRequest) -> dict[str, Any]:
    data = {name: getattr(request, name) for name in _REQUEST_FIELDS}
    return {**data, **{name: list(data[name]) for name in _TUPLE_REQUEST_FIELDS}}


def _request(data: dict[str, Any]) -> AuthorizationRequest:
    """Unknown keys are dropped so a flow started before a deploy that removed a field can
    still finish."""
    values = {name: value for name, value in data.items() if name in _REQUEST_FIELDS}
    for name in _TUPLE_REQUEST_FIELDS:
        if name in values:
            values[name] = tuple(values[name])
    return AuthorizationRequest(**values)


def _flow(row: FlowRow) -> PendingAuthorization:
    return PendingAuthorization(
        id=row.id,
        request=_request(row.request),
        created_at=row.created_at,
        expires_at=row.expires_at,
        connection_id=row.connection_id,
        connector_state=row.connector_state,
        browser_binding=row.browser_binding,
    )


def _code(row: AuthorizationCodeRow) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=row.code_hash,
        client_id=row.client_id,
        redirect_uri=row.redirect_uri,
        scope=tuple(row.scope),
        nonce=row.nonce,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        claims=row.claims,
        auth_time=row.auth_time,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
    )


def _token(row: AccessTokenRow) -> AccessToken:
    return AccessToken(
        token_hash=row.token_hash,
        code_hash=row.code_hash,
        client_id=row.client_id,
        scope=tuple(row.scope),
        claims=row.claims,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
    )
