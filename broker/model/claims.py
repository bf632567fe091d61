"""What Gatehouse asserts to the relying party about a person.

Two rules carry the security weight (docs/security.md, "Auth0 and our claims"):

- `sub` is Gatehouse's own identity id: opaque, unique across every organization, never the
  email. Auth0 keys every user behind our one connection as `oidc|<connection>|<sub>`, so an
  email-derived `sub` would let one customer's IdP mint another customer's user.
- `email_verified` is true only when the address is in a domain the organization has
  verified. Auth0 copies it into the profile and account linking trusts it; an IdP's own
  `email_verified` is not enough (the "nOAuth" takeover class).

Organization data uses names Auth0 does not reserve (`org_id`, `groups`, `roles`, `amr`,
`sid`... are reserved or overwritten there).

`directory_groups` (the person's groups in the organization's SCIM directory, bounded: see
`broker.model.directory_access`) is present only when the organization has an active
directory; `directory_groups_truncated` only when the list was cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from broker.model.names import email_domain
from broker.model.records import Connection, Identity, Organization, UpstreamIdentity

PROFILE_CLAIMS = ("name", "given_name", "family_name")
EMAIL_CLAIMS = ("email", "email_verified")
ORGANIZATION_CLAIMS = (
    "organization_id", "organization_name", "connection_id", "idp_type", "idp_groups",
    "raw_attributes",
)  # fmt: skip
DIRECTORY_CLAIMS = ("directory_groups", "directory_groups_truncated")


def is_email_verified(email: str | None, verified_domains: Iterable[str]) -> bool:
    if not email:
        return False
    domain = email_domain(email)
    return domain is not None and domain in set(verified_domains)


def build_claims(
    *,
    identity: Identity,
    upstream: UpstreamIdentity,
    organization: Organization,
    connection: Connection,
    verified_domains: Iterable[str],
    scope: Iterable[str],
    directory_claims: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """The claims for both the ID token and `/userinfo` (OIDC Core §5.4: `profile` and
    `email` scopes select the standard claims; organization claims are always present, and
    `directory_claims` when the organization's directory governs the login)."""
    scopes = set(scope)
    claims: dict[str, Any] = {"sub": identity.id}
    if "email" in scopes and upstream.email:
        claims["email"] = upstream.email
        claims["email_verified"] = is_email_verified(upstream.email, verified_domains)
    if "profile" in scopes:
        for name in PROFILE_CLAIMS:
            value = getattr(upstream, name)
            if value:
                claims[name] = value
    claims.update(
        organization_id=organization.id,
        organization_name=organization.name,
        connection_id=connection.id,
        idp_type=connection.kind,
        idp_groups=list(upstream.groups),
        raw_attributes=dict(upstream.raw_attributes),
    )
    claims.update(directory_claims or {})
    return claims
