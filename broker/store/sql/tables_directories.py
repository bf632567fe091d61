"""The directories' tables (SCIM provisioning, `broker.model.directories`).

A module of its own because `tables.py` is long enough; its rows share `tables.Base`, so
the one `metadata` Alembic compares against holds them (imported at the end of `tables`).

Users and groups keep the SCIM resource as JSON and copy into columns only what is looked
up or filtered on (RFC 7644 §3.4.2.2 filters Gatehouse answers, sign-in's links):
`user_name_norm` (lower-cased userName, unique per directory: RFC 7643 §4.1.1 makes
userName case-insensitive and unique), `external_id`, `primary_email` (lower-cased),
`email_values` (every email value, lower-cased, each between newlines, so `emails co`/`eq`/
`sw` are a substring test on one column on both backends), `display_name_norm`.
Memberships are a row each: a PATCH adding or removing a member touches one row, never a
large group's whole list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from broker.store.sql.tables import Base


def _directory_fk() -> sa.ForeignKey:
    return sa.ForeignKey("directories.id", ondelete="CASCADE")


class DirectoryRow(Base):
    __tablename__ = "directories"

    id: Mapped[str] = mapped_column(primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str]
    link_key: Mapped[str]
    state: Mapped[str]
    created_at: Mapped[datetime]


class DirectoryTokenRow(Base):
    """`token_hash` is unique: a presented token is found by its hash, then compared in
    constant time (broker.directory.tokens)."""

    __tablename__ = "directory_tokens"

    id: Mapped[str] = mapped_column(primary_key=True)
    directory_id: Mapped[str] = mapped_column(_directory_fk(), index=True)
    token_hash: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class DirectoryUserRow(Base):
    __tablename__ = "directory_users"
    __table_args__ = (
        sa.UniqueConstraint("directory_id", "user_name_norm"),
        sa.Index("ix_directory_users_external_id", "directory_id", "external_id"),
        sa.Index("ix_directory_users_primary_email", "directory_id", "primary_email"),
        sa.Index("ix_directory_users_display_name", "directory_id", "display_name_norm"),
        # The paging order (startIndex/count): creation, then id for ties.
        sa.Index("ix_directory_users_order", "directory_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    directory_id: Mapped[str] = mapped_column(_directory_fk())
    user_name: Mapped[str]
    user_name_norm: Mapped[str]
    external_id: Mapped[str | None]
    active: Mapped[bool | None]
    display_name: Mapped[str | None]
    display_name_norm: Mapped[str | None]
    emails: Mapped[list[str]]
    primary_email: Mapped[str | None]
    email_values: Mapped[str]
    resource: Mapped[dict[str, Any]]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DirectoryGroupRow(Base):
    __tablename__ = "directory_groups"
    __table_args__ = (
        sa.Index("ix_directory_groups_external_id", "directory_id", "external_id"),
        sa.Index("ix_directory_groups_display_name", "directory_id", "display_name_norm"),
        sa.Index("ix_directory_groups_order", "directory_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    directory_id: Mapped[str] = mapped_column(_directory_fk())
    display_name: Mapped[str]
    display_name_norm: Mapped[str]
    external_id: Mapped[str | None]
    resource: Mapped[dict[str, Any]]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DirectoryMembershipRow(Base):
    """(group, user); the index on user_id answers "the groups of a user" (sign-in's
    `directory_groups` claim) and removes a deleted user's memberships."""

    __tablename__ = "directory_memberships"
    __table_args__ = (sa.Index("ix_directory_memberships_user_id", "user_id"),)

    group_id: Mapped[str] = mapped_column(
        sa.ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("directory_users.id", ondelete="CASCADE"), primary_key=True
    )
    #: The member's `display` as the client sent it (Okta: the user's login), echoed back.
    display: Mapped[str | None]


class DirectoryRequestRow(Base):
    """Recent SCIM requests per directory and their outcome, for the portal. Bounded: the
    purge deletes rows older than a retention, and each directory keeps at most
    `DirectoryRepo.REQUEST_LOG_SIZE`."""

    __tablename__ = "directory_requests"
    __table_args__ = (sa.Index("ix_directory_requests_directory_at", "directory_id", "at", "id"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    directory_id: Mapped[str] = mapped_column(_directory_fk())
    at: Mapped[datetime] = mapped_column(index=True)
    method: Mapped[str]
    path: Mapped[str]
    status: Mapped[int]
    scim_type: Mapped[str | None]
    detail: Mapped[str | None]


def _table(row: type[Base]) -> sa.Table:
    table = row.__table__
    assert isinstance(table, sa.Table)
    return table


directories = _table(DirectoryRow)
directory_tokens = _table(DirectoryTokenRow)
directory_users = _table(DirectoryUserRow)
directory_groups = _table(DirectoryGroupRow)
directory_memberships = _table(DirectoryMembershipRow)
directory_requests = _table(DirectoryRequestRow)
