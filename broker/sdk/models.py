"""What the API answers, one frozen dataclass per resource, with the API's own field names
(the management API's response models; `broker.sdk.schema` reads and writes them).

A field the server adds later goes to `extra`, not an error: the client keeps working
against a newer Gatehouse. `to_dict()` gives back the API's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from broker.sdk.errors import MalformedResponse
from broker.sdk.schema import SOMETIMES, ApiObject

_frozen = dataclass(frozen=True, slots=True, kw_only=True)


@_frozen
class Organization(ApiObject):
    RESOURCE = "organization"

    id: str
    name: str
    external_id: str | None
    created_at: datetime


@_frozen
class DnsRecord(ApiObject):
    """Publish this at your DNS provider, then verify."""

    RESOURCE = "DNS record"

    type: str
    name: str
    value: str


@_frozen
class Domain(ApiObject):
    RESOURCE = "domain"

    name: str
    verified: bool
    verified_at: datetime | None
    created_at: datetime | None
    #: The TXT record to publish; None once verified.
    verification: DnsRecord | None


@_frozen
class Verification(ApiObject):
    """The answer of a verify call: a failure is an answer (`reason`), not an error."""

    RESOURCE = "domain verification"

    status: str
    reason: str | None
    detail: str | None
    domain: Domain

    @property
    def verified(self) -> bool:
        return self.status == "verified"


@_frozen
class Certificate(ApiObject):
    RESOURCE = "certificate"

    subject: str
    issuer: str
    not_before: datetime
    #: After this the IdP's signatures are refused.
    not_after: datetime
    sha256_fingerprint: str


@_frozen
class SamlSettings(ApiObject):
    RESOURCE = "SAML settings"

    idp_entity_id: str
    sso_url: str
    sso_binding: str
    certificates: tuple[Certificate, ...]
    name_id_format: str
    attribute_profile: str
    attribute_mapping: Mapping[str, tuple[str, ...]]
    required_claims: tuple[str, ...]
    subject_attribute: str | None
    clock_skew_seconds: int
    allow_sha1: bool
    allow_cbc_encryption: bool
    require_assertion_signature: bool
    require_encrypted_assertion: bool
    subject_hint: bool
    strategy: str | None
    ca_certificates: tuple[Certificate, ...]
    #: The IdP metadata URL Gatehouse re-reads (None: given by document or by hand).
    #: Defaulted, so the SDK still reads an answer of a Gatehouse that predates it.
    metadata_url: str | None = None
    #: For the IdP admin: the ACS (Reply) URL, the Audience, and Gatehouse's SP metadata.
    acs_url: str
    sp_entity_id: str
    sp_metadata_url: str


@_frozen
class OidcSettings(ApiObject):
    """The client secret is write-only: `client_secret_set` says whether one is stored."""

    RESOURCE = "OIDC settings"

    issuer: str
    vendor: str
    client_id: str
    token_endpoint_auth_method: str
    client_secret_set: bool
    scopes: tuple[str, ...]
    endpoints: Mapping[str, str] | None
    id_token_algorithms: tuple[str, ...]
    attribute_mapping: Mapping[str, tuple[str, ...]]
    required_claims: tuple[str, ...]
    clock_skew_seconds: int
    always_fetch_userinfo: bool
    request_timeout_seconds: int | None
    strategy: str | None
    ca_certificates: tuple[Certificate, ...]
    #: For the IdP admin: the redirect (callback) URI, and for private_key_jwt our keys.
    redirect_uri: str
    jwks_uri: str | None


@_frozen
class LastTest(ApiObject):
    """The outcome of a connection's newest test login."""

    RESOURCE = "test outcome"

    passed: bool
    at: datetime


@_frozen
class _ConnectionFields(ApiObject):
    id: str
    type: str
    organization_id: str
    name: str
    #: Whether logins route to it.
    active: bool
    #: Increases with every change.
    version: int
    created_at: datetime
    #: What weakens the connection or will break it.
    warnings: tuple[str, ...]
    #: The newest test login's outcome; None: never tested.
    last_test: LastTest | None
    #: When a test login last passed, of whatever settings; None: none ever passed.
    last_passed_at: datetime | None


@_frozen
class SamlConnection(_ConnectionFields):
    RESOURCE = "SAML connection"

    #: None only if the stored settings no longer pass Gatehouse's checks.
    settings: SamlSettings | None


@_frozen
class OidcConnection(_ConnectionFields):
    RESOURCE = "OIDC connection"

    #: None only if the stored settings no longer pass Gatehouse's checks.
    settings: OidcSettings | None


Connection = SamlConnection | OidcConnection

_CONNECTIONS: dict[str, type[SamlConnection] | type[OidcConnection]] = {
    "saml": SamlConnection,
    "oidc": OidcConnection,
}


def connection_from_json(data: Any) -> Connection:
    """A SAML or an OIDC connection, by its `type`."""
    kind = data.get("type") if isinstance(data, Mapping) else None
    if kind not in _CONNECTIONS:
        raise MalformedResponse("connection", "type", f"is {kind!r}, not saml or oidc")
    return _CONNECTIONS[kind].from_json(data)


@_frozen
class ProfileUserAttribute(ApiObject):
    RESOURCE = "profile user attribute"

    name: str
    description: str
    required: bool


@_frozen
class ProfileColors(ApiObject):
    RESOURCE = "profile colors"

    primary: str


@_frozen
class ProfileBranding(ApiObject):
    RESOURCE = "profile branding"

    logo_url: str | None
    colors: ProfileColors | None


@_frozen
class Profile(ApiObject):
    """A self-service profile: what the admin portal offers a kind of customer."""

    RESOURCE = "self-service profile"

    id: str
    name: str
    description: str
    user_attributes: tuple[ProfileUserAttribute, ...]
    branding: ProfileBranding
    allowed_strategies: tuple[str, ...]
    introduction: str
    created_at: datetime
    updated_at: datetime


@_frozen
class PortalLink(ApiObject):
    RESOURCE = "portal link"

    id: str
    profile_id: str | None
    connection_id: str | None
    enabled_features: tuple[str, ...]
    max_uses: int
    uses: int
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime
    created_by: str
    #: active, expired, used_up or revoked.
    status: str
    #: Only in the answer that created the link: send it on at once.
    url: str | None = field(default=None, metadata=SOMETIMES)


@_frozen
class User(ApiObject):
    RESOURCE = "user"

    #: The `sub` Gatehouse asserts to the app.
    id: str
    connection_id: str
    #: Who the organization's IdP says they are.
    idp_subject: str
    email: str | None
    created_at: datetime
    last_login_at: datetime


@_frozen
class Event(ApiObject):
    """An audit event."""

    RESOURCE = "event"

    id: str
    at: datetime
    #: What happened: login.failed, domain.verified, ...
    type: str
    #: A stable machine code for a failure.
    reason: str | None
    #: management_client:<id>, cli, portal_link:<id>; None for a login.
    actor: str | None
    organization_id: str | None
    connection_id: str | None
    #: The correlation id a person was shown.
    request_id: str | None
    detail: Mapping[str, Any]


@_frozen
class WebhookEndpoint(ApiObject):
    RESOURCE = "webhook endpoint"

    id: str
    url: str
    #: Exact kinds, families (`connection.*`) or `*`.
    event_types: tuple[str, ...]
    organization_id: str | None
    enabled: bool
    #: `failing` when Gatehouse disabled it after three days of failed deliveries.
    disabled_reason: str | None
    failing_since: datetime | None
    #: While a rotation's overlap lasts: when the previous secret stops signing.
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    #: `whsec_...`, only in the answers of create and rotate_secret: store it at once.
    secret: str | None = field(default=None, metadata=SOMETIMES)


@_frozen
class WebhookAttempt(ApiObject):
    RESOURCE = "webhook attempt"

    at: datetime
    status_code: int | None
    latency_ms: int
    #: The first KiB of the receiver's answer (or why there was none).
    response_excerpt: str
    #: timeout, connection, refused, status (a non-2xx answer); None when delivered.
    error: str | None


@_frozen
class WebhookDelivery(ApiObject):
    RESOURCE = "webhook delivery"

    id: str
    event_id: str
    #: pending, delivered or failed.
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None
    #: A resend by hand.
    manual: bool
    #: Only when one delivery is read: every attempt, oldest first.
    attempt_log: tuple[WebhookAttempt, ...] = field(default=(), metadata=SOMETIMES)


@_frozen
class Directory(ApiObject):
    """An organization's SCIM directory: its IdP provisions users and groups into it."""

    RESOURCE = "directory"

    id: str
    organization_id: str
    name: str
    #: How a directory user is matched to an SSO login: email, external_id, subject.
    link_key: str
    state: str
    created_at: datetime
    #: What the IdP's SCIM connector is given as its base URL.
    scim_base_url: str
    #: `gh_scim_...`, only in the answers of create and rotate_token: hand it to the IdP.
    token: str | None = field(default=None, metadata=SOMETIMES)
    #: After a rotation: when the previous token stops working.
    previous_token_expires_at: datetime | None = field(default=None, metadata=SOMETIMES)


@_frozen
class DirectoryUser(ApiObject):
    RESOURCE = "directory user"

    id: str
    user_name: str
    external_id: str | None
    active: bool
    display_name: str | None
    #: The primary email (lower case).
    email: str | None
    emails: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@_frozen
class DirectoryGroup(ApiObject):
    RESOURCE = "directory group"

    id: str
    display_name: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime
