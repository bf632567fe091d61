"""Directories (SCIM provisioning): create one for an organization (its token answered
once), list and read them, rotate the token with an overlap, revoke every token, delete;
read what the directory pushed (users, groups) and its log of recent SCIM requests.

- A token is shown only in the answer that issued it (create, rotate) and stored as its
  SHA-256: no read answers it (M-05).
- A rotation keeps the previous token valid for an overlap (default 24 hours, at most 7
  days), so the IT admin can paste the new one into the IdP without a failed sync.
- `revoke` ends every token now (a leaked token); the directory's data stays and a
  rotation issues a working token again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from broker.management import scoped
from broker.management.deps import ManagementDeps, record
from broker.management.errors import InvalidInput, ResourceNotFound
from broker.model.directories import (
    Compare,
    Directory,
    DirectoryGroup,
    DirectoryRequest,
    DirectoryState,
    DirectoryToken,
    DirectoryUser,
    FilterOp,
    Found,
    LinkKey,
    Page,
    issue_token,
)
from broker.model.opaque import looks_like_id, new_id
from broker.store import NotFound, UnitOfWork
from broker.store.protocols_directories import DirectoryPageKey

DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class DirectorySummary:
    """What a directory holds, in numbers (the portal's directory page). `inactive` counts
    users the client set `active: false`; a user it never said is active counts as active,
    as sign-in treats them."""

    users: int
    groups: int
    inactive: int

    @property
    def active(self) -> int:
        return self.users - self.inactive


@dataclass(frozen=True, slots=True)
class IssuedToken:
    directory: Directory
    #: `gh_scim_...`: in this value only, never stored in clear.
    token: str
    #: When the token it replaced stops working (a rotation), None at creation.
    previous_expires_at: datetime | None = None


class Directories:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def create(
        self, actor: str, *, organization_id: str, name: str, link_key: str = LinkKey.EMAIL.value
    ) -> IssuedToken:
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidInput.at("/name", f"1 to {MAX_NAME} characters")
        try:
            key = LinkKey(link_key)
        except ValueError:
            raise InvalidInput.at("/link_key", "one of email, external_id, subject") from None
        now = self._deps.clock.now()
        directory = Directory(
            id=new_id("dir"),
            organization_id=organization_id,
            name=name,
            link_key=key,
            state=DirectoryState.ACTIVE,
            created_at=now,
        )
        value, token = issue_token(directory.id, now)
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            uow.directories.add(directory)
            uow.directories.add_token(token)
            _record(uow, self._deps, "directory.created", actor, directory, link_key=key.value)
        return IssuedToken(directory, value)

    def get(self, directory_id: str) -> Directory:
        with self._deps.store.unit_of_work() as uow:
            return _directory(uow, directory_id)

    def page(
        self, *, organization_id: str | None, after: DirectoryPageKey | None, limit: int
    ) -> Sequence[Directory]:
        with self._deps.store.unit_of_work() as uow:
            return uow.directories.page(organization_id=organization_id, after=after, limit=limit)

    def tokens(self, directory_id: str) -> Sequence[DirectoryToken]:
        """The tokens' records (hashes, dates): never their values."""
        with self._deps.store.unit_of_work() as uow:
            _directory(uow, directory_id)
            return uow.directories.tokens(directory_id)

    def rotate_token(
        self, actor: str, directory_id: str, *, overlap: timedelta = DEFAULT_OVERLAP
    ) -> IssuedToken:
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            raise InvalidInput.at("/overlap_seconds", "0 to 7 days")
        now = self._deps.clock.now()
        value, token = issue_token(directory_id, now)
        with self._deps.store.unit_of_work() as uow:
            directory = _directory(uow, directory_id)
            uow.directories.add_token(token)
            uow.directories.expire_tokens(directory_id, at=now + overlap, keep=token.id)
            if directory.state is not DirectoryState.ACTIVE:
                uow.directories.set_state(directory_id, DirectoryState.ACTIVE)
            _record(
                uow, self._deps, "directory.token_rotated", actor, directory,
                overlap_seconds=int(overlap.total_seconds()),
            )  # fmt: skip
        return IssuedToken(directory, value, now + overlap)

    def revoke(self, actor: str, directory_id: str) -> int:
        """Revoke every token of the directory now; returns how many were live."""
        now = self._deps.clock.now()
        with self._deps.store.unit_of_work() as uow:
            directory = _directory(uow, directory_id)
            revoked = uow.directories.revoke_tokens(directory_id, at=now)
            _record(uow, self._deps, "directory.token_revoked", actor, directory, revoked=revoked)
        return revoked

    def delete(self, actor: str, directory_id: str) -> None:
        with self._deps.store.unit_of_work() as uow:
            directory = _directory(uow, directory_id)
            uow.directories.delete(directory_id)
            _record(uow, self._deps, "directory.deleted", actor, directory)

    def users(self, directory_id: str, *, start: int, limit: int) -> Found[DirectoryUser]:
        with self._deps.store.unit_of_work() as uow:
            _directory(uow, directory_id)
            return uow.directory_users.search(directory_id, None, Page(start=start, count=limit))

    def groups(self, directory_id: str, *, start: int, limit: int) -> Found[DirectoryGroup]:
        with self._deps.store.unit_of_work() as uow:
            _directory(uow, directory_id)
            return uow.directory_groups.search(directory_id, None, Page(start=start, count=limit))

    def summary(self, directory_id: str) -> DirectorySummary:
        """Counts in one unit of work (one snapshot on PostgreSQL)."""
        inactive = Compare("active", FilterOp.EQ, False)
        with self._deps.store.unit_of_work() as uow:
            _directory(uow, directory_id)
            return DirectorySummary(
                users=uow.directory_users.count(directory_id),
                groups=uow.directory_groups.count(directory_id),
                inactive=uow.directory_users.search(directory_id, inactive, Page(count=0)).total,
            )

    def requests(self, directory_id: str, *, limit: int = 50) -> Sequence[DirectoryRequest]:
        with self._deps.store.unit_of_work() as uow:
            _directory(uow, directory_id)
            return uow.directories.requests(directory_id, limit=limit)


def _directory(uow: UnitOfWork, directory_id: str) -> Directory:
    if not looks_like_id(directory_id):
        raise ResourceNotFound(f"directory {directory_id[:64]}")
    try:
        return uow.directories.get(directory_id)
    except NotFound as exc:
        raise ResourceNotFound(f"directory {directory_id}") from exc


def _record(
    uow: UnitOfWork,
    deps: ManagementDeps,
    kind: str,
    actor: str,
    directory: Directory,
    **detail: object,
) -> None:
    """The change's event, naming the directory; never a token."""
    organization_id = directory.organization_id
    named = {"directory_id": directory.id, "name": directory.name, **detail}
    record(uow, deps, kind, actor=actor, organization_id=organization_id, **named)  # type: ignore[arg-type]
