"""Directories: what an organization's SCIM client (Okta, Entra ID...) has told Gatehouse.

A directory belongs to one organization; its bearer token is its only credential. Its
users and groups are kept as the SCIM resources the client sent (so a GET answers what was
PUT), plus the few columns Gatehouse itself reads: the normalised userName that makes it
unique (RFC 7643 §4.1.1: userName is caseExact false, uniqueness server), the primary
email and externalId a sign-in is linked by, and `active`, which sign-in enforces.

The filter tree here is the store's neutral language for the SCIM filters Gatehouse
answers (`broker.directory.filters` builds it from scim2-models' parsed filter; the SQL
repository translates it): a closed set of attributes and operators, so anything else is
refused before it reaches a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

from broker.model.opaque import hash_secret, new_id, new_secret
from broker.model.records import JsonObject

#: A directory token's prefix: recognisable in an IdP's "secret token" field and by
#: leaked-credential scanners.
TOKEN_PREFIX = "gh_scim_"  # noqa: S105 - a prefix, not a secret


class LinkKey(StrEnum):
    """How a directory user is matched to the identity an SSO login yields.

    EMAIL: the user's primary email (lower-cased) equals the login's email.
    EXTERNAL_ID: the SCIM externalId equals the login's subject (Okta sends its user id,
    Entra its objectId, the same values their SAML/OIDC apps can send as NameID/sub).
    SUBJECT: the SCIM userName (case-insensitively) equals the login's subject (Okta's
    and Entra's default NameID is the userName/UPN).
    """

    EMAIL = "email"
    EXTERNAL_ID = "external_id"
    SUBJECT = "subject"


class DirectoryState(StrEnum):
    ACTIVE = "active"
    #: Tokens refused; users and groups kept (sign-in no longer follows the directory).
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True, kw_only=True)
class Directory:
    id: str
    organization_id: str
    name: str
    link_key: LinkKey
    state: DirectoryState
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryToken:
    """A bearer token, stored as the SHA-256 of its value (it is random, so no salt is
    needed). `expires_at` is set on the token a rotation replaced: it keeps working until
    then, so the IdP's admin can paste the new one without a failed sync."""

    id: str
    directory_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


def issue_token(directory_id: str, now: datetime) -> tuple[str, DirectoryToken]:
    """A new bearer token: its value (to show once, never stored) and its record (the
    SHA-256 of the value: 256 random bits need no salt nor slow hash)."""
    value = TOKEN_PREFIX + new_secret()
    token = DirectoryToken(
        id=new_id("dst"), directory_id=directory_id, token_hash=hash_secret(value), created_at=now
    )
    return value, token


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryUser:
    """`resource` is the SCIM User as stored, without `id` and `meta` (those are columns).
    `active` is None when the client never sent it (treated as active)."""

    id: str
    directory_id: str
    user_name: str
    external_id: str | None
    active: bool | None
    display_name: str | None
    emails: tuple[str, ...]
    primary_email: str | None
    resource: JsonObject
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def is_active(self) -> bool:
        return self.active is not False


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryGroup:
    """`resource` is the SCIM Group without `id`, `meta` and `members` (memberships are
    rows of their own: a PATCH adding one member writes one row, never the whole list)."""

    id: str
    directory_id: str
    display_name: str
    external_id: str | None
    resource: JsonObject
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryRequest:
    """One SCIM request's outcome, for the portal's log (bounded: purged after a retention)."""

    id: str
    directory_id: str
    at: datetime
    method: str
    path: str
    status: int
    scim_type: str | None = None
    detail: str | None = None


# -- the filter tree (RFC 7644 §3.4.2.2, the subset Gatehouse answers) ---------------------


class FilterOp(StrEnum):
    EQ = "eq"
    CO = "co"
    SW = "sw"
    PR = "pr"


#: The attributes a filter may name, per resource type. `emails` means emails.value and
#: `members` members.value, as RFC 7644 §3.4.2.2 reads a complex attribute without a
#: sub-attribute.
USER_FILTER_ATTRIBUTES = frozenset(
    {"id", "userName", "externalId", "emails", "displayName", "active"}
)
GROUP_FILTER_ATTRIBUTES = frozenset({"id", "displayName", "externalId", "members"})


@dataclass(frozen=True, slots=True)
class Compare:
    """`attribute op value`; value is None for `pr`, a bool for `active`, else a string
    (already lower-cased for the case-insensitive attributes: userName, displayName,
    emails)."""

    attribute: str
    op: FilterOp
    value: str | bool | None = None


@dataclass(frozen=True, slots=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    left: Filter
    right: Filter


Filter = Compare | And | Or


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """A search page by index (RFC 7644 §3.4.2.4): `start` is 0-based; `count` None means
    every match, 0 means the total only."""

    start: int = 0
    count: int | None = None


_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Found(Generic[_T]):
    """A search's page and the number of every match (`totalResults`)."""

    total: int
    items: tuple[_T, ...] = field(default=())
