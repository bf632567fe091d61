"""The login's repositories: the downstream clients (Auth0), the pending authorizations,
authorization codes and access tokens (`broker.oidc`).

Apart from `protocols` only to keep that module small; `UnitOfWork` there groups them. The
contracts of `protocols`' docstring hold here too: `FlowRepo.consume` and
`CodeRepo.consume` are atomic across threads and processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from broker.model.records import (
    AccessToken,
    AuthorizationCode,
    DownstreamClient,
    PendingAuthorization,
)


@dataclass(frozen=True, slots=True)
class CodeReplayed:
    """`CodeRepo.consume` found a code that was already redeemed (RFC 6749 §4.1.2)."""

    client_id: str


class ClientRepo(Protocol):
    def add(self, client: DownstreamClient) -> None:
        """AlreadyExists if the client_id is taken."""
        ...

    def get(self, client_id: str) -> DownstreamClient:
        """NotFound if absent."""
        ...

    def list(self) -> Sequence[DownstreamClient]: ...

    def delete(self, client_id: str) -> None:
        """Remove the client if present (re-seeding the demo client); no error if absent."""
        ...

    def save(self, client: DownstreamClient) -> None:
        """Store its secrets, disabled time and `on_refusal`; NotFound if absent."""
        ...


class FlowRepo(Protocol):
    def create(self, flow: PendingAuthorization) -> None: ...

    def get(self, flow_id: str, *, now: datetime) -> PendingAuthorization:
        """NotFound if absent, consumed or expired at `now`."""
        ...

    def update(
        self,
        flow_id: str,
        change: Callable[[PendingAuthorization], PendingAuthorization],
        *,
        now: datetime,
    ) -> PendingAuthorization:
        """Apply `change` to a live flow (e.g. record the connection and connector_state).
        ValueError if `change` alters the id or the times, replaces a browser_binding
        already set (it may go from None to a value once), or alters `test` (set at
        creation, never by an update)."""
        ...

    def consume(self, flow_id: str, *, now: datetime) -> PendingAuthorization:
        """Atomically take a live flow; a second call, or a concurrent one, gets NotFound."""
        ...

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        """Delete at most `limit` flows that expired at or before `now`, consumed or not
        (a consumed flow is only kept for its expiry, like a live one)."""
        ...


class CodeRepo(Protocol):
    def add(self, code: AuthorizationCode) -> None: ...

    def consume(self, code_hash: str, *, now: datetime) -> AuthorizationCode | CodeReplayed:
        """Atomically redeem a live code.

        Returns the code to exactly one caller; `CodeReplayed` if it had been redeemed
        before (so the caller can revoke what was issued); NotFound if it never existed or
        has expired unredeemed.
        """
        ...

    def revoke(self, code_hash: str, *, now: datetime) -> None:
        """Revoke the code and every access token issued from it."""
        ...

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        """Delete at most `limit` codes that expired at or before `now` and have no access
        token live at `now`. A redeemed code outlives its own TTL for as long as a token
        issued from it does, so a replay of it is still recognized as one, and revokes
        those tokens (RFC 6749 §4.1.2), until there is nothing left to revoke."""
        ...


class AccessTokenRepo(Protocol):
    def add(self, token: AccessToken) -> None: ...

    def get(self, token_hash: str, *, now: datetime) -> AccessToken:
        """NotFound if absent, expired, or revoked through its code."""
        ...

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        """Delete at most `limit` tokens that expired at or before `now`."""
        ...


#: Where a page of a time-ordered list starts: after this (created_at, id).
