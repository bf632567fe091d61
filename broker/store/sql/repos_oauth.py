"""Repositories of the OAuth side: downstream clients, flows, codes and access tokens.

Single use is enforced by the database, not by read-then-write in Python: `consume` is one
conditional UPDATE .. RETURNING whose WHERE clause states "still live", and exactly one
concurrent caller gets the row back (PostgreSQL re-checks the clause against the committed
row after waiting on the row lock; SQLite serializes writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, insert, select, update
from sqlalchemy.engine import Connection, Row

from broker.model.portal import TrialLogin
from broker.model.records import (
    AccessToken,
    AuthorizationCode,
    AuthorizationRequest,
    DownstreamClient,
    OnRefusal,
    PendingAuthorization,
)
from broker.store.protocols import NotFound
from broker.store.protocols_oauth import CodeReplayed
from broker.store.sql.batches import LIMIT, batched_delete, checked_limit
from broker.store.sql.statements import (
    affected,
    all_rows,
    first,
    insert_ignoring_duplicates,
    insert_or_raise,
    insert_unless_duplicate,
)
from broker.store.sql.tables import access_tokens, authorization_codes, clients, flows

# Parameters are named apart from the columns: an INSERT or UPDATE reserves column names for
# its own VALUES/SET parameters.
_NOW = bindparam("now", type_=flows.c.expires_at.type)

_INSERT_CLIENT = insert_ignoring_duplicates(clients)
_GET_CLIENT = select(clients).where(clients.c.client_id == bindparam("p_client_id"))
_LIST_CLIENTS = select(clients).order_by(clients.c.created_at, clients.c.client_id)
_DELETE_CLIENT = delete(clients).where(clients.c.client_id == bindparam("p_client_id"))
_SAVE_CLIENT = (
    update(clients)
    .where(clients.c.client_id == bindparam("p_client_id"))
    .values(
        {
            column: bindparam(f"p_{column}", type_=clients.c[column].type)
            for column in ("secret_hash", "previous_secret_hash", "disabled_at", "on_refusal")
        }
    )
)


class SqlClientRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, client: DownstreamClient) -> None:
        params = {
            "client_id": client.client_id,
            "name": client.name,
            "secret_hash": client.secret_hash,
            "redirect_uris": list(client.redirect_uris),
            "created_at": client.created_at,
            "previous_secret_hash": client.previous_secret_hash,
            "disabled_at": client.disabled_at,
            "on_refusal": client.on_refusal.value,
        }
        insert_unless_duplicate(
            self._connection,
            _INSERT_CLIENT.on(self._connection),
            params,
            f"client {client.client_id!r}",
        )

    def get(self, client_id: str) -> DownstreamClient:
        row = first(self._connection, _GET_CLIENT, {"p_client_id": client_id})
        if row is None:
            raise NotFound(f"client {client_id!r}")
        return _client(row)

    def list(self) -> Sequence[DownstreamClient]:
        return [_client(row) for row in all_rows(self._connection, _LIST_CLIENTS, {})]

    def delete(self, client_id: str) -> None:
        affected(self._connection, _DELETE_CLIENT, {"p_client_id": client_id})

    def save(self, client: DownstreamClient) -> None:
        params = {
            "p_client_id": client.client_id,
            "p_secret_hash": client.secret_hash,
            "p_previous_secret_hash": client.previous_secret_hash,
            "p_disabled_at": client.disabled_at,
            "p_on_refusal": client.on_refusal.value,
        }
        if affected(self._connection, _SAVE_CLIENT, params) != 1:
            raise NotFound(f"client {client.client_id!r}")


def _live_flow() -> tuple[Any, ...]:
    return (
        flows.c.id == bindparam("p_flow_id"),
        flows.c.consumed_at.is_(None),
        flows.c.expires_at > _NOW,
    )


_INSERT_FLOW = insert(flows)
_GET_FLOW = select(flows).where(*_live_flow())
_LOCK_FLOW = _GET_FLOW.with_for_update()
_UPDATE_FLOW = (
    update(flows)
    .where(*_live_flow())
    .values(
        request=bindparam("p_request", type_=flows.c.request.type),
        connection_id=bindparam("p_connection_id", type_=flows.c.connection_id.type),
        connector_state=bindparam("p_connector_state", type_=flows.c.connector_state.type),
        browser_binding=bindparam("p_browser_binding", type_=flows.c.browser_binding.type),
    )
)
_CONSUME_FLOW = update(flows).where(*_live_flow()).values(consumed_at=_NOW).returning(*flows.c)
_PURGE_FLOWS = batched_delete(flows, flows.c.expires_at <= _NOW)


class SqlFlowRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def create(self, flow: PendingAuthorization) -> None:
        params = {
            "id": flow.id,
            "request": _request_json(flow.request, flow.entered_email),
            "connection_id": flow.connection_id,
            "connector_state": flow.connector_state,
            "browser_binding": flow.browser_binding,
            "created_at": flow.created_at,
            "expires_at": flow.expires_at,
            "test": _test_json(flow.test),
        }
        insert_or_raise(self._connection, _INSERT_FLOW, params, "flow")

    def get(self, flow_id: str, *, now: datetime) -> PendingAuthorization:
        row = first(self._connection, _GET_FLOW, {"p_flow_id": flow_id, "now": now})
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
        """Only the request, the entered email, connection and connector state may change:
        the id is the correlation handle and the expiry was fixed at creation, so updates
        cannot keep a flow alive past its TTL. The browser binding may be set once, never
        replaced: a flow bound to one browser cannot be re-bound to another. Whether the
        flow is a portal test login (`test`) is fixed at creation: an update can neither
        turn a login for an app into a test (or back) nor retarget a test to other
        settings."""
        key = {"p_flow_id": flow_id, "now": now}
        row = first(self._connection, _LOCK_FLOW, key)
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
        if changed.test != current.test:
            raise ValueError("a flow's test login is set at creation and cannot change")
        params = {
            **key,
            "p_request": _request_json(changed.request, changed.entered_email),
            "p_connection_id": changed.connection_id,
            "p_connector_state": changed.connector_state,
            "p_browser_binding": changed.browser_binding,
        }
        if affected(self._connection, _UPDATE_FLOW, params) != 1:
            raise NotFound("flow")
        return changed

    def consume(self, flow_id: str, *, now: datetime) -> PendingAuthorization:
        row = first(self._connection, _CONSUME_FLOW, {"p_flow_id": flow_id, "now": now})
        if row is None:
            raise NotFound("flow")
        return _flow(row)

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        return affected(self._connection, _PURGE_FLOWS.on(self._connection), _batch(now, limit))


_CODE_HASH = bindparam("p_code_hash", type_=authorization_codes.c.code_hash.type)
_INSERT_CODE = insert(authorization_codes)
_CONSUME_CODE = (
    update(authorization_codes)
    .where(
        authorization_codes.c.code_hash == _CODE_HASH,
        authorization_codes.c.consumed_at.is_(None),
        authorization_codes.c.revoked_at.is_(None),
        authorization_codes.c.expires_at > _NOW,
    )
    .values(consumed_at=_NOW)
    .returning(*authorization_codes.c)
)
_CODE_REDEEMED_BY = select(
    authorization_codes.c.client_id, authorization_codes.c.consumed_at
).where(authorization_codes.c.code_hash == _CODE_HASH)
_REVOKE_CODE = (
    update(authorization_codes)
    .where(
        authorization_codes.c.code_hash == _CODE_HASH, authorization_codes.c.revoked_at.is_(None)
    )
    .values(revoked_at=_NOW)
)
_PURGE_CODES = batched_delete(
    authorization_codes,
    authorization_codes.c.expires_at <= _NOW,
    ~exists().where(
        access_tokens.c.code_hash == authorization_codes.c.code_hash,
        access_tokens.c.expires_at > _NOW,
    ),
)


class SqlCodeRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, code: AuthorizationCode) -> None:
        params = {
            "code_hash": code.code_hash,
            "client_id": code.client_id,
            "redirect_uri": code.redirect_uri,
            "scope": list(code.scope),
            "nonce": code.nonce,
            "code_challenge": code.code_challenge,
            "code_challenge_method": code.code_challenge_method,
            "claims": dict(code.claims),
            "auth_time": code.auth_time,
            "issued_at": code.issued_at,
            "expires_at": code.expires_at,
            "directory_user_id": code.directory_user_id,
        }
        insert_or_raise(self._connection, _INSERT_CODE, params, "authorization code")

    def consume(self, code_hash: str, *, now: datetime) -> AuthorizationCode | CodeReplayed:
        key = {"p_code_hash": code_hash, "now": now}
        row = first(self._connection, _CONSUME_CODE, key)
        if row is not None:
            return _code(row)
        # Not redeemed now: tell a replay (redeemed before) from an unknown or dead code.
        found = first(self._connection, _CODE_REDEEMED_BY, key)
        if found is not None and found.consumed_at is not None:
            return CodeReplayed(client_id=found.client_id)
        raise NotFound("authorization code")

    def revoke(self, code_hash: str, *, now: datetime) -> None:
        """Idempotent, and silent for an unknown code: revocation must never fail the
        caller's replay handling, and an absent code has nothing left to revoke."""
        affected(self._connection, _REVOKE_CODE, {"p_code_hash": code_hash, "now": now})

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        """Access tokens still issued from a purged code go with it (ON DELETE CASCADE);
        the rule leaves none live."""
        return affected(self._connection, _PURGE_CODES.on(self._connection), _batch(now, limit))


_INSERT_TOKEN = insert(access_tokens)
# Revocation is read through the join at every use, so a token inserted after (or
# concurrently with) its code's revocation is dead too.
_GET_TOKEN = (
    select(access_tokens)
    .join(authorization_codes, access_tokens.c.code_hash == authorization_codes.c.code_hash)
    .where(
        access_tokens.c.token_hash == bindparam("p_token_hash"),
        access_tokens.c.expires_at > _NOW,
        authorization_codes.c.revoked_at.is_(None),
    )
)

_PURGE_TOKENS = batched_delete(access_tokens, access_tokens.c.expires_at <= _NOW)


class SqlAccessTokenRepo:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, token: AccessToken) -> None:
        params = {
            "token_hash": token.token_hash,
            "code_hash": token.code_hash,
            "client_id": token.client_id,
            "scope": list(token.scope),
            "claims": dict(token.claims),
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
            "directory_user_id": token.directory_user_id,
        }
        insert_or_raise(self._connection, _INSERT_TOKEN, params, "access token")

    def get(self, token_hash: str, *, now: datetime) -> AccessToken:
        row = first(self._connection, _GET_TOKEN, {"p_token_hash": token_hash, "now": now})
        if row is None:
            raise NotFound("access token")
        return _token(row)

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        return affected(self._connection, _PURGE_TOKENS.on(self._connection), _batch(now, limit))


def _batch(now: datetime, limit: int) -> dict[str, Any]:
    return {"now": now, LIMIT: checked_limit(limit)}


def _client(row: Row[Any]) -> DownstreamClient:
    return DownstreamClient(
        client_id=row.client_id,
        name=row.name,
        secret_hash=row.secret_hash,
        redirect_uris=tuple(row.redirect_uris),
        created_at=row.created_at,
        previous_secret_hash=row.previous_secret_hash,
        disabled_at=row.disabled_at,
        on_refusal=OnRefusal(row.on_refusal),
    )


_TUPLE_REQUEST_FIELDS = ("scope", "prompt")
_REQUEST_FIELDS = tuple(f.name for f in fields(AuthorizationRequest))


#: The key, beside the request's fields in the flow's `request` JSON, of the address typed on
#: the email page. Kept in that document rather than a column of its own: no migration, and
#: `_request` already drops keys it does not know, so a deploy without it still reads the flow.
_ENTERED_EMAIL = "entered_email"


def _request_json(request: AuthorizationRequest, entered_email: str | None) -> dict[str, Any]:
    data = {name: getattr(request, name) for name in _REQUEST_FIELDS}
    typed = {_ENTERED_EMAIL: entered_email} if entered_email is not None else {}
    return {**data, **{name: list(data[name]) for name in _TUPLE_REQUEST_FIELDS}, **typed}


def _request(data: dict[str, Any]) -> AuthorizationRequest:
    """Unknown keys are dropped so a flow started before a deploy that removed a field can
    still finish."""
    values = {name: value for name, value in data.items() if name in _REQUEST_FIELDS}
    for name in _TUPLE_REQUEST_FIELDS:
        if name in values:
            values[name] = tuple(values[name])
    return AuthorizationRequest(**values)


def _flow(row: Row[Any]) -> PendingAuthorization:
    return PendingAuthorization(
        id=row.id,
        request=_request(row.request),
        created_at=row.created_at,
        expires_at=row.expires_at,
        connection_id=row.connection_id,
        connector_state=row.connector_state,
        browser_binding=row.browser_binding,
        test=_test_login(row.test),
        entered_email=row.request.get(_ENTERED_EMAIL),
    )


def _test_json(test: TrialLogin | None) -> dict[str, Any] | None:
    if test is None:
        return None
    return {
        "portal_session": test.portal_session,
        "use_draft": test.use_draft,
        "config_digest": test.config_digest,
        "portal_link": test.portal_link,
    }


def _test_login(data: dict[str, Any] | None) -> TrialLogin | None:
    if data is None:
        return None
    return TrialLogin(
        portal_session=data["portal_session"],
        use_draft=data["use_draft"],
        config_digest=data["config_digest"],
        # Absent from a flow stored before the field was added.
        portal_link=data.get("portal_link"),
    )


def _code(row: Row[Any]) -> AuthorizationCode:
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
        directory_user_id=row.directory_user_id,
    )


def _token(row: Row[Any]) -> AccessToken:
    return AccessToken(
        token_hash=row.token_hash,
        code_hash=row.code_hash,
        client_id=row.client_id,
        scope=tuple(row.scope),
        claims=row.claims,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        directory_user_id=row.directory_user_id,
    )
