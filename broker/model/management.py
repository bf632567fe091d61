"""The management side's values: who automates Gatehouse, and what they configure for the
customer's IT admin (self-service profiles, portal links).

Secrets here are stored only as SHA-256 hashes (`secret_hash`, `token_hash`): a management
client secret and a portal link are bearer secrets Gatehouse only needs to recognize.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from broker.model.opaque import secrets_match
from broker.model.vendors import STRATEGIES

#: Scopes of the management API, one read and one write per resource (Auth0's shape).
SCOPES = (
    "organizations:read", "organizations:write", "connections:read", "connections:write",
    "domains:read", "domains:write", "portal_links:write", "profiles:read", "profiles:write",
    "events:read", "users:read", "users:write", "domains:assert", "webhooks:read",
    "webhooks:write", "directories:read", "directories:write",
)  # fmt: skip
#: Scopes a client gets only by naming them, never in an "everything" grant (the demo's
#: backend): `domains:assert` marks a domain verified on the caller's word, without DNS,
#: and so lets its organization's IdP vouch for every address in it.
PRIVILEGED_SCOPES = ("domains:assert",)
#: What "every scope" means for a client that does not name them.
ORDINARY_SCOPES = tuple(s for s in SCOPES if s not in PRIVILEGED_SCOPES)

#: What a portal link may let the customer's IT admin do. `directory_sync`: set up SCIM
#: provisioning (a directory and its token); a link grants it only when asked for.
PORTAL_FEATURES = ("sso", "domain_verification", "directory_sync")


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagementClient:
    """A backend of the app team calling the management API (client credentials). Separate
    from login clients: a leaked Auth0 client secret must not administer tenants.

    `previous_secret_hash` stays valid until revoked, while the backend is switched to a
    rotated secret. Revoking is for good; disabling (`disabled_at`) can be undone."""

    client_id: str
    name: str
    secret_hash: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None
    previous_secret_hash: str | None = None
    disabled_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.disabled_at is None

    def secret_matches(self, secret: str) -> bool:
        return secrets_match(secret, self.secret_hash, self.previous_secret_hash)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAttribute:
    """A claim the customer's IdP must (or may) send, named as our claims are."""

    name: str
    description: str = ""
    required: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Branding:
    logo_url: str | None = None
    primary_color: str | None = None  # "#rrggbb"


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfServiceProfile:
    """What the portal offers one kind of customer: which IdPs, which attributes, how it
    looks, what it says first."""

    id: str
    name: str
    description: str = ""
    allowed_strategies: tuple[str, ...] = STRATEGIES
    user_attributes: tuple[UserAttribute, ...] = (UserAttribute(name="email"),)
    branding: Branding = field(default_factory=Branding)
    introduction: str = ""
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PortalLink:
    """A magic link to the admin portal for one organization: a new connection, or an edit
    of `connection_id`. The URL's token is shown once; only its hash is kept."""

    id: str
    organization_id: str
    token_hash: str
    profile_id: str | None
    connection_id: str | None
    enabled_features: tuple[str, ...]
    max_uses: int
    uses: int = 0
    expires_at: datetime
    revoked_at: datetime | None = None
    created_at: datetime
    created_by: str

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.uses < self.max_uses and now < self.expires_at


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredResponse:
    """A POST's answer kept under its Idempotency-Key, replayed for a retry."""

    request_hash: str
    status: int
    body: Mapping[str, object]
    location: str | None = None
