"""The connector contract every upstream protocol implements (dex `connector.go`, reshaped).

SAML (issue 3) and OIDC (issue 4) connectors implement exactly this; tests register their own
kind through `CONNECTOR_TYPES`, which the composition root injects. The refusals a connector
raises live in `errors.py` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Protocol, Self, runtime_checkable

import httpx

from broker.clock import Clock
from broker.http import AutoPost, Redirect, Result
from broker.keys.crypto import SecretBox
from broker.model.records import UpstreamIdentity
from broker.upstream.bulkhead import Bulkheads
from broker.upstream.errors import (
    UpstreamError,
    UpstreamIncomplete,
    UpstreamInvalid,
    UpstreamPolicyRefusal,
    UpstreamRejected,
    UpstreamUnavailable,
)
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.urls import ConnectionEndpoints

__all__ = [
    "CallbackInput",
    "CertificateUse",
    "ConnectorConfig",
    "ConnectorDeps",
    "FlowContext",
    "LoginStart",
    "RefreshesAhead",
    "ReplayGuard",
    "UpstreamConnector",
    "UpstreamError",
    "UpstreamIncomplete",
    "UpstreamInvalid",
    "UpstreamPolicyRefusal",
    "UpstreamRejected",
    "UpstreamUnavailable",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowContext:
    """What a connector knows about the login it serves.

    `flow_id` goes upstream as OIDC `state` / SAML `RelayState`; `callback_url` is the
    published ACS URL or redirect URI for this connection; `connector_state` is what
    `begin_login` returned (empty before it ran). `login_hint` is who is expected at the IdP:
    the address typed on our email page, else the relying party's `login_hint` (OIDC sends it
    as `login_hint`, SAML as the AuthnRequest's Subject when the connection allows).

    `force_reauthentication` and `max_age` carry the relying party's freshness demands
    (OIDC `prompt=login`, `max_age`) upstream: Gatehouse keeps no session of its own, but the
    IdP may, and the `auth_time` we assert must be true. SAML maps them to
    `ForceAuthn="true"`, OIDC forwards them.
    """

    flow_id: str
    connection_id: str
    callback_url: str
    login_hint: str | None = None
    force_reauthentication: bool = False
    max_age: int | None = None
    connector_state: bytes = b""


@dataclass(frozen=True, slots=True)
class LoginStart:
    action: Redirect | AutoPost
    connector_state: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackInput:
    """The upstream's answer as it arrived: query parameters (OIDC redirect) or form fields
    (SAML POST binding), already size-capped by the web layer."""

    query: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=dict)


class UpstreamConnector(Protocol):
    def begin_login(self, flow: FlowContext) -> LoginStart: ...

    def describe(self) -> Result | None:
        """A document the connection publishes (SAML SP metadata), or None."""
        ...

    def complete_login(self, flow: FlowContext, callback: CallbackInput) -> UpstreamIdentity:
        """Verify the upstream answer against `flow.connector_state`; raise UpstreamRejected
        or UpstreamInvalid, never return a partly verified identity."""
        ...


@runtime_checkable
class RefreshesAhead(Protocol):
    """A connector that reads documents from its IdP at login time (OIDC discovery and
    JWKS) and can read them sooner, off any login: `ConnectorCache.refresh_ahead`."""

    def refresh_ahead(self, ahead: timedelta) -> None:
        """Refetch whatever a login would have to refetch within `ahead`; raise
        UpstreamError when the IdP cannot be read (the cached documents stay)."""
        ...


class ReplayGuard(Protocol):
    """Remembers protocol message ids (SAML assertion IDs) until they expire, in the
    database, so a replay is refused whichever broker process receives it."""

    def first_use(self, scope: str, message_id: str, *, expires_at: datetime) -> bool:
        """True the first time `message_id` is presented within `scope`; False after."""
        ...


class CertificateUse(Protocol):
    """Told which pinned IdP certificate verified a login (SAML), so a certificate the
    IdP's metadata no longer lists is dropped only once another one has been seen to work
    (`broker.jobs.saml_metadata_refresh`). Called after every check of the login passed,
    outside the login's own transaction; it records in a short one of its own and never
    raises: a login that succeeded does not fail on its bookkeeping."""

    def verified(self, connection_id: str, fingerprint: str) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorDeps:
    """What an opened connector may use: outbound HTTP (injected, so tests route it to an
    in-process IdP), time, the box that decrypts the connection's own secrets (SAML SP keys),
    the replay guard, and the process's bulkheads (a connector that waits on its IdP during a
    login runs that wait in its connection's slot: `broker.upstream.bulkhead`)."""

    http: httpx.Client
    clock: Clock
    secrets: SecretBox
    replays: ReplayGuard
    #: Where `http` may go: https and public addresses in production; development also
    #: allows http and loopback (the simulator). Checked per URL before every request; it
    #: also carries each request's total deadline and minimum transfer rate.
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    bulkheads: Bulkheads = field(default_factory=Bulkheads)
    #: Where a SAML connector reports the certificate a login verified under; None: not
    #: reported (a connector opened for a portal test, or by a unit test).
    certificate_use: CertificateUse | None = None


class ConnectorConfig(Protocol):
    kind: ClassVar[str]

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> Self:
        """Untrusted stored or submitted config -> typed config; ConfigError(field, msg)."""
        ...

    def open(self, deps: ConnectorDeps, endpoints: ConnectionEndpoints) -> UpstreamConnector: ...

    @classmethod
    def describe_unfinished(
        cls, raw: Mapping[str, object], endpoints: ConnectionEndpoints
    ) -> Result | None:
        """What a connection publishes while its settings do not parse yet (a portal setup
        waiting for the IdP's values): SAML's SP metadata needs only the SP's own keys, and
        the IdP admin imports it before they have anything to give back."""
        ...
