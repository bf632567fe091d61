"""The domain's values. Frozen dataclasses: repositories take and return these, never rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from broker.model.audit_bounds import MAX_ID, MAX_TEXT, bound_detail, bound_optional
from broker.model.opaque import new_id, secrets_match

if TYPE_CHECKING:
    from broker.model.portal import TrialLogin

JsonObject = Mapping[str, Any]
#: What an IdP sent, decoded (`{"saml_xml": ...}`, `{"id_token": {...}, "userinfo": ...}`),
#: built only when called: a portal test login's report calls it, a real login never does.
Evidence = Callable[[], JsonObject]


class OnRefusal(StrEnum):
    """How a client hears of a refused login it can be told about (`broker.login.returns`).

    `PAGE`: Gatehouse's page says what happened, in the person's terms, with a button that
    takes them back to the client with the error. `REDIRECT`: the error goes to the client
    at once, for relying parties that render their own (Auth0 does).
    """

    PAGE = "page"
    REDIRECT = "redirect"


@dataclass(frozen=True, slots=True, kw_only=True)
class DownstreamClient:
    """A relying party of ours: an Auth0 tenant, or the demo app.

    `secret_hash` is None for a public client, which must then use PKCE (RFC 7636, OAuth 2.0
    Security BCP §2.1.1). Redirect URIs are compared byte for byte (RFC 9700 §4.1.3).
    `previous_secret_hash` is the secret a rotation replaced, still accepted until it is
    revoked, so the relying party can be switched over without a failed login. A client with
    `disabled_at` set is refused at /authorize and /token until it is enabled again.
    `on_refusal`: how it hears of a refused login (`OnRefusal`).
    """

    client_id: str
    name: str
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    created_at: datetime
    previous_secret_hash: str | None = None
    disabled_at: datetime | None = None
    on_refusal: OnRefusal = OnRefusal.PAGE

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    def secret_matches(self, secret: str) -> bool:
        return self.secret_hash is not None and secrets_match(
            secret, self.secret_hash, self.previous_secret_hash
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Organization:
    """A customer of the app team."""

    id: str
    name: str
    external_id: str | None = None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Domain:
    """An email domain claimed by an organization; only a verified one routes logins or
    makes `email_verified` true. Several organizations may claim a name; at most one may
    have it verified (docs/security.md D-01: an unverified claim is inert, so claiming a
    domain cannot squat it)."""

    organization_id: str
    name: str
    verified_at: datetime | None = None
    #: The random value the organization publishes in DNS to prove it controls the domain
    #: (`_gatehouse-challenge.<name>` TXT); None for a claim an operator verified by hand.
    verification_token: str | None = None
    created_at: datetime | None = None
    #: How it was verified: `dns` (re-checked daily, broker.jobs) or `operator_assertion`
    #: (the app team's word: there is no record to re-check); None when unverified, or
    #: verified before Gatehouse recorded how.
    verified_by: str | None = None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """An organization's stored upstream IdP configuration (data; the connector is code).

    `version` increases on every change; opened connectors are cached by (id, version).
    `domains` optionally narrows which of the organization's domains route here when it has
    several connections.
    """

    id: str
    organization_id: str
    kind: str
    name: str
    config: JsonObject
    domains: tuple[str, ...] = ()
    active: bool = True
    version: int = 1
    created_at: datetime
    #: Pending settings for an active connection (the portal's edit: a new certificate,
    #: a new secret), tested before they replace `config` in one compare-and-swap; logins
    #: keep using `config` until then.
    draft: JsonObject | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationRequest:
    """A validated `/authorize` request: everything needed to finish it later, anywhere."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    login_hint: str | None = None
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    organization_hint: str | None = None
    connection_hint: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingAuthorization:
    """A flow: an authorization request waiting for a person to log in upstream.

    The id is the only correlation handle; it travels upstream as OIDC `state` or SAML
    `RelayState`. `connector_state` is what the connector must check on return (AuthnRequest
    ID, nonce, PKCE verifier), opaque to everyone else (dex's ConnectorData).

    `browser_binding` is the SHA-256 hex of a random value set as a cookie in the browser
    that started the flow; the IdP's callback must arrive with that cookie. Without it the
    flow id alone would let an attacker finish their own login in a victim's browser (login
    CSRF, RFC 9700 §4.7). Only the hash is stored, like every other bearer secret.
    """

    id: str
    request: AuthorizationRequest
    created_at: datetime
    expires_at: datetime
    connection_id: str | None = None
    connector_state: bytes = b""
    browser_binding: str | None = None
    #: Set when the flow is a portal test login: no code is ever issued for it.
    test: TrialLogin | None = None
    #: The address the person typed on our email page, sent upstream as the login hint.
    #: It wins over the relying party's `login_hint`: the RP's is a guess made before the
    #: person arrived, the typed one is what the person just told us, and it is the address
    #: routing chose the IdP by.
    entered_email: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamIdentity:
    """What an upstream IdP asserted, normalized. Nothing downstream sees raw XML or tokens.

    `auth_time` is when the person actually authenticated at the IdP (SAML AuthnInstant, OIDC
    `auth_time`), when the IdP says; it becomes our `auth_time` claim.
    """

    subject: str
    auth_time: datetime | None = None
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    groups: tuple[str, ...] = ()
    #: The domain the IdP says the account belongs to (Google Workspace `hd`), when it says;
    #: the login service then requires it to be one the organization verified.
    hosted_domain: str | None = None
    raw_attributes: JsonObject = field(default_factory=dict)
    #: What the IdP sent, decoded, for a portal test login's report only (the assertion
    #: XML, the ID token's claims and userinfo). A function, so a real login never pays
    #: for building it; nothing on the login path calls it.
    evidence: Evidence | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """A person as Gatehouse knows them: one per (connection, IdP subject).

    `id` is the `sub` we assert: random, opaque, unique across every organization, and
    stable for as long as the connection exists. Never the email (Auth0 keys users by it).
    """

    id: str
    organization_id: str
    connection_id: str
    idp_subject: str
    email: str | None
    created_at: datetime
    last_login_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationCode:
    """An issued code. Only the hash of the code is stored (a database leak yields no code).

    Bound to client, redirect_uri and PKCE challenge (RFC 6749 §4.1.3, RFC 7636 §4.6).
    """

    code_hash: str
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    claims: JsonObject
    auth_time: datetime
    issued_at: datetime
    expires_at: datetime
    #: The directory user the login was linked to (`broker.login.directory_access`), if an
    #: organization's directory governs it; its access token inherits it.
    directory_user_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessToken:
    """An opaque bearer token for `/userinfo`, stored hashed, revoked with its code, and
    refused once its `directory_user_id` is deactivated or deleted in the directory."""

    token_hash: str
    code_hash: str
    client_id: str
    scope: tuple[str, ...]
    claims: JsonObject
    issued_at: datetime
    expires_at: datetime
    directory_user_id: str | None = None


def _new_event_id() -> str:
    return new_id("evt")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """Something an operator may need to explain later: a login that succeeded or failed,
    a domain an operator verified.

    `kind` names what happened (`login.succeeded`, `login.failed`, `domain.verified`);
    `reason` is a stable machine code for a failure (`email_outside_verified_domains`), so
    events can be counted and alerted on without parsing prose. `request_id` is the
    correlation id shown on the page the person saw. `detail` is for the operator: never a
    secret, token or raw assertion.
    """

    id: str = field(default_factory=_new_event_id)
    at: datetime
    kind: str
    #: Who did it: `management_client:<id>`, `cli`, `portal_link:<id>`; None for a login.
    actor: str | None = None
    reason: str | None = None
    organization_id: str | None = None
    connection_id: str | None = None
    flow_id: str | None = None
    request_id: str | None = None
    detail: JsonObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Bound every field (`audit_bounds`): events are written for unauthenticated
        requests, with values taken from them. Here rather than in the store's `record`
        because the constructor is the one path no event can avoid: whoever builds one and
        wherever it goes (the store, a log line, a future export) it holds no more. Events
        read back are bounded again, which changes nothing."""
        for name in _EVENT_IDS:
            object.__setattr__(self, name, bound_optional(getattr(self, name), MAX_ID))
        object.__setattr__(self, "reason", bound_optional(self.reason, MAX_TEXT))
        object.__setattr__(self, "detail", bound_detail(self.detail))


_EVENT_IDS = ("id", "kind", "actor", "organization_id", "connection_id", "flow_id", "request_id")


class KeyState:
    """Life cycle of a signing key: next (published, not yet signing) -> current (signing)
    -> retired (published until every token it signed has expired)."""

    NEXT = "next"
    CURRENT = "current"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True, kw_only=True)
class SigningKeyRecord:
    """A stored signing key. The private key is encrypted at rest; `public_jwk` is what
    JWKS publishes."""

    kid: str
    alg: str
    state: str
    private_key_encrypted: bytes = field(repr=False)
    public_jwk: JsonObject
    created_at: datetime
    activated_at: datetime | None = None
    retired_at: datetime | None = None
