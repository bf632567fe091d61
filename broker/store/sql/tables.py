"""The schema: persistence only. Rows never leave `broker.store.sql`; the repositories map
them to and from the domain's dataclasses.

Constraint names come from the naming convention, so Alembic migrations (including SQLite
batch mode, which recreates tables by name) and autogenerate comparisons are deterministic.

Flows, codes and tokens carry no foreign key to clients or connections: they are short-lived
records of a login in progress, and deleting a client or connection must not be blocked by,
or cascade into, them. The one cascade that matters is access token -> code, so that
purging a code takes its tokens with it.

Strings are TEXT: SQLite ignores VARCHAR lengths, so a length would be a limit that only
PostgreSQL enforces, and the two backends must behave alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every backend.

    Expiry checks compare stored instants with the caller's `now`; a naive datetime would
    be compared as if it were UTC whatever it meant, so it is refused at the boundary.
    SQLite has no time zone type: it stores naive UTC text of fixed width, which sorts (and
    so compares in SQL) chronologically. PostgreSQL stores `timestamptz`.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused: {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {  # noqa: RUF012 - read by SQLAlchemy at class creation
        str: sa.Text(),
        datetime: UtcDateTime(),
        dict[str, Any]: sa.JSON(),
        list[str]: sa.JSON(),
        bytes: sa.LargeBinary(),
    }


class ClientRow(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    secret_hash: Mapped[str | None]
    redirect_uris: Mapped[list[str]]
    created_at: Mapped[datetime]
    previous_secret_hash: Mapped[str | None]
    disabled_at: Mapped[datetime | None]
    on_refusal: Mapped[str] = mapped_column(server_default="page")


class OrganizationRow(Base):
    """`external_id` is the app team's own key for the customer, so it names at most one
    organization (NULLs are distinct on both backends). A unique index rather than a
    constraint: adding a constraint on SQLite means recreating the table, and dropping
    `organizations` with foreign keys on cascades into every domain and connection."""

    __tablename__ = "organizations"
    __table_args__ = (sa.Index("uq_organizations_external_id", "external_id", unique=True),)

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    external_id: Mapped[str | None]
    created_at: Mapped[datetime]


class DomainRow(Base):
    """One organization's claim on a name. Any number may claim it; the partial unique
    index lets at most one hold it verified, so a domain routes to one organization and a
    claim cannot squat a name another organization owns (docs/security.md D-01)."""

    __tablename__ = "domains"
    __table_args__ = (
        sa.Index(
            "uq_domains_verified_name",
            "name",
            unique=True,
            sqlite_where=sa.text("verified_at IS NOT NULL"),
            postgresql_where=sa.text("verified_at IS NOT NULL"),
        ),
    )

    organization_id: Mapped[str] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(primary_key=True)
    verified_at: Mapped[datetime | None]
    verification_token: Mapped[str | None]
    created_at: Mapped[datetime | None]
    #: `dns` or `operator_assertion`; only the first is re-checked (broker.jobs).
    verified_by: Mapped[str | None]


class ConnectionRow(Base):
    __tablename__ = "connections"
    # The target of identities' composite foreign key (see IdentityRow).
    __table_args__ = (sa.UniqueConstraint("id", "organization_id"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str]
    name: Mapped[str]
    config: Mapped[dict[str, Any]]
    domains: Mapped[list[str]]
    active: Mapped[bool]
    version: Mapped[int]
    created_at: Mapped[datetime]
    # none_as_null: None is SQL NULL, not the JSON text `null` (SQLAlchemy's default).
    draft: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))


class IdentityRow(Base):
    """One per (connection, IdP subject). The composite foreign key makes the database, not
    just the caller, guarantee that an identity belongs to its connection's organization."""

    __tablename__ = "identities"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "idp_subject"),
        sa.ForeignKeyConstraint(
            ["connection_id", "organization_id"],
            ["connections.id", "connections.organization_id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    organization_id: Mapped[str] = mapped_column(index=True)
    connection_id: Mapped[str]
    idp_subject: Mapped[str]
    email: Mapped[str | None]
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime]


class FlowRow(Base):
    __tablename__ = "flows"

    id: Mapped[str] = mapped_column(primary_key=True)
    request: Mapped[dict[str, Any]]
    connection_id: Mapped[str | None]
    connector_state: Mapped[bytes]
    browser_binding: Mapped[str | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]
    test: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))


class AuthorizationCodeRow(Base):
    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(primary_key=True)
    client_id: Mapped[str]
    redirect_uri: Mapped[str]
    scope: Mapped[list[str]]
    nonce: Mapped[str | None]
    code_challenge: Mapped[str | None]
    code_challenge_method: Mapped[str | None]
    claims: Mapped[dict[str, Any]]
    auth_time: Mapped[datetime]
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    consumed_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: The directory user the login was linked to (migration 0012), if a directory governs it.
    directory_user_id: Mapped[str | None]


class AccessTokenRow(Base):
    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(
        sa.ForeignKey("authorization_codes.code_hash", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str]
    scope: Mapped[list[str]]
    claims: Mapped[dict[str, Any]]
    issued_at: Mapped[datetime]
    # Indexed for the purge, like every expiry column it deletes by (migration 0005).
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: Inherited from the code: `/userinfo` checks that directory user is still active.
    directory_user_id: Mapped[str | None]


class SigningKeyRow(Base):
    __tablename__ = "signing_keys"
    # At most one CURRENT and one NEXT key, enforced by the database: two processes running
    # `ensure_keys` at once cannot both insert one (the loser gets AlreadyExists and rereads).
    __table_args__ = (
        sa.Index(
            "uq_signing_keys_live_state",
            "state",
            unique=True,
            sqlite_where=sa.text("state IN ('current', 'next')"),
            postgresql_where=sa.text("state IN ('current', 'next')"),
        ),
    )

    kid: Mapped[str] = mapped_column(primary_key=True)
    alg: Mapped[str]
    state: Mapped[str]
    private_key_encrypted: Mapped[bytes]
    public_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class AuditEventRow(Base):
    """No foreign keys: the record of what happened must outlive the organization or
    connection it mentions, and recording it must never fail because one was deleted."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str]
    reason: Mapped[str | None]
    organization_id: Mapped[str | None] = mapped_column(index=True)
    connection_id: Mapped[str | None]
    flow_id: Mapped[str | None]
    request_id: Mapped[str | None]
    detail: Mapped[dict[str, Any]]
    actor: Mapped[str | None]


class ReplayRow(Base):
    """A message id already accepted. The primary key is the replay check: of two inserts
    of one (scope, message_id), the database lets exactly one through."""

    __tablename__ = "replay_cache"

    scope: Mapped[str] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ManagementClientRow(Base):
    __tablename__ = "management_clients"

    client_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    secret_hash: Mapped[str]
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    previous_secret_hash: Mapped[str | None]
    disabled_at: Mapped[datetime | None]


class ProfileRow(Base):
    __tablename__ = "self_service_profiles"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    description: Mapped[str]
    allowed_strategies: Mapped[list[str]]
    user_attributes: Mapped[list[Any]] = mapped_column(sa.JSON())
    branding: Mapped[dict[str, Any]]
    introduction: Mapped[str]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PortalLinkRow(Base):
    """Deleted with its organization; a link for a connection goes with the connection (an
    edit link must never turn into a new-connection link)."""

    __tablename__ = "portal_links"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["connection_id", "organization_id"],
            ["connections.id", "connections.organization_id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(unique=True)
    profile_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("self_service_profiles.id", ondelete="SET NULL")
    )
    connection_id: Mapped[str | None]
    enabled_features: Mapped[list[str]]
    max_uses: Mapped[int]
    uses: Mapped[int]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str]


class IdempotencyRow(Base):
    """A POST's response kept under (client, Idempotency-Key) until `expires_at`."""

    __tablename__ = "idempotency_keys"

    client_id: Mapped[str] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(primary_key=True)
    request_hash: Mapped[str]
    status: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON())
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RateLimitRow(Base):
    """Requests counted per (bucket, fixed window), shared by every broker process. The
    purge deletes by `window_start` alone, which the primary key (bucket first) cannot
    serve, hence its own index."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    count: Mapped[int]


class PortalSessionRow(Base):
    """Only the hash of the session's cookie value is stored. Sessions go with their link
    (revoking a link ends them) and their organization."""

    __tablename__ = "portal_sessions"

    id_hash: Mapped[str] = mapped_column(primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE")
    )
    link_id: Mapped[str] = mapped_column(
        sa.ForeignKey("portal_links.id", ondelete="CASCADE"), index=True
    )
    features: Mapped[list[str]]
    connection_id: Mapped[str | None]
    profile_id: Mapped[str | None]
    csrf_token: Mapped[str]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ConnectionTestRow(Base):
    __tablename__ = "connection_tests"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["connection_id", "organization_id"],
            ["connections.id", "connections.organization_id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    organization_id: Mapped[str]
    connection_id: Mapped[str] = mapped_column(index=True)
    config_digest: Mapped[str]
    passed: Mapped[bool]
    reason: Mapped[str | None]
    report: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


# The tables, for the repositories' Core statements: the same columns (hence the same types,
# UtcDateTime included) as the mapped classes above, without the ORM.


def _table(row: type[Base]) -> sa.Table:
    table = row.__table__
    assert isinstance(table, sa.Table)
    return table


clients = _table(ClientRow)
organizations = _table(OrganizationRow)
domains = _table(DomainRow)
connections = _table(ConnectionRow)
identities = _table(IdentityRow)
flows = _table(FlowRow)
authorization_codes = _table(AuthorizationCodeRow)
access_tokens = _table(AccessTokenRow)
signing_keys = _table(SigningKeyRow)
audit_events = _table(AuditEventRow)
replay_cache = _table(ReplayRow)
management_clients = _table(ManagementClientRow)
profiles = _table(ProfileRow)
portal_links = _table(PortalLinkRow)
idempotency_keys = _table(IdempotencyRow)
rate_limits = _table(RateLimitRow)
portal_sessions = _table(PortalSessionRow)
connection_tests = _table(ConnectionTestRow)

# The background work's and the directories' tables live in modules of their own on the
# same `Base`; importing them here puts them in `metadata` for Alembic and the schema tests.
from broker.store.sql import tables_background as _background  # noqa: E402, F401, I001
from broker.store.sql import tables_directories as _directories  # noqa: E402, F401
