"""The connector contract every upstream protocol implements (dex `connector.go`, reshaped).

SAML (issue 3) and OIDC (issue 4) connectors implement exactly this; tests register their own
kind through `CONNECTOR_TYPES`, which the composition root injects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol, Self

import httpx

from broker.clock import Clock
from broker.domain.model import Evidence, UpstreamIdentity
from broker.http import AutoPost, Redirect, Result
from broker.keys.crypto import SecretBox
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.urls import ConnectionEndpoints


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowContext:
    """What a connector knows about the login it serves.

    `flow_id` goes upstream as OIDC `state` / SAML `RelayState`; `callback_url` is the
    published ACS URL or redirect URI for this connection; `connector_state` is what
    `begin_login` returned (empty before it ran).

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


class UpstreamError(Exception):
    """Base: the login cannot finish. Subclasses say whether the reason may be shown.

    `facts` are what a diagnosis needs, as strings (`expected_audience`, `actual_audience`,
    `clock_offset_seconds`...): shown to the IT admin on a portal test login, never to a
    person logging in (X-03). They are built only when refusing, so the login path pays
    nothing for them, and never hold a secret (client secret, nonce, private key).

    `evidence`, set only when the refusal comes *after* the answer's signature verified,
    returns what the IdP sent, decoded (the assertion XML, the ID token's claims), for the
    same test report; it is called only there (see `broker.domain.model.Evidence`)."""

    def __init__(
        self, reason: str, *, detail: str = "", facts: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.facts: Mapping[str, str] = dict(facts or {})
        self.evidence: Evidence | None = None


class UpstreamRejected(UpstreamError):
    """The IdP said no (denied, user not assigned...). `reason` is safe to show a person."""


class UpstreamInvalid(UpstreamError):
    """The answer failed verification (signature, audience, replay...). `reason` is a stable
    machine code for logs and audit; the person sees a generic page."""


class UpstreamUnavailable(UpstreamError):
    """The IdP could not be reached or answered with a server error (discovery, JWKS, token
    endpoint). Nothing about the person is known; trying again later may work."""


class UpstreamPolicyRefusal(UpstreamError):
    """The answer is authentic, but the account fails a rule (the IdP says the email is not
    verified; a consumer account where a Workspace one is required). `reason` picks a page
    that tells the person what to do."""


class UpstreamIncomplete(UpstreamError):
    """The IdP signed the person in but left out what the connection requires (an email
    attribute, say). `missing` names it, for a page the person can forward to their IT team."""

    def __init__(
        self,
        missing: tuple[str, ...],
        *,
        looked_for: str = "",
        facts: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            "missing_attributes", detail=f"{', '.join(missing)} ({looked_for})", facts=facts
        )
        self.missing = missing
        self.looked_for = looked_for


class UpstreamConnector(Protocol):
    def begin_login(self, flow: FlowContext) -> LoginStart: ...

    def describe(self) -> Result | None:
        """A document the connection publishes (SAML SP metadata), or None."""
        ...

    def complete_login(self, flow: FlowContext, callback: CallbackInput) -> UpstreamIdentity:
        """Verify the upstream answer against `flow.connector_state`; raise UpstreamRejected
        or UpstreamInvalid, never return a partly verified identity."""
        ...


class ReplayGuard(Protocol):
    """Remembers protocol message ids (SAML assertion IDs) until they expire, in the
    database, so a replay is refused whichever broker process receives it."""

    def first_use(self, scope: str, message_id: str, *, expires_at: datetime) -> bool:
        """True the first time `message_id` is presented within `scope`; False after."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorDeps:
    """What an opened connector may use: outbound HTTP (injected, so tests route it to an
    in-process IdP), time, the box that decrypts the connection's own secrets (SAML SP keys),
    and the replay guard."""

    http: httpx.Client
    clock: Clock
    secrets: SecretBox
    replays: ReplayGuard
    #: Where `http` may go: https and public addresses in production; development also
    #: allows http and loopback (the simulator). Checked per URL before every request.
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)


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
