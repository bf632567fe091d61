"""The directories' repositories (SCIM provisioning; `broker.model.directories`).

Three repositories on the unit of work:

- `uow.directories` (`DirectoryRepo`): directories, their tokens, and their request log.
- `uow.directory_users` (`DirectoryUserRepo`): the SCIM users, and what sign-in reads of
  them (`linked`: the directory user an SSO identity is).
- `uow.directory_groups` (`DirectoryGroupRepo`): the SCIM groups and their memberships,
  one row per member, changed by deltas (`add_members`/`remove_members`), and "the groups
  of a user" for the `directory_groups` claim.

Every user and group read or write names its directory: a resource id of another directory
is NotFound, exactly as an unknown one (no directory can learn of another's resources).

Versions are compare-and-swap: `save`/`delete` with `expected_version` raise `Conflict`
when the stored version differs (the SCIM ETag's 412), NotFound when the row is gone.
`lock=True` on a read takes the row's lock (PostgreSQL `FOR UPDATE`) until the unit of
work ends, so concurrent PATCHes of one group apply one after the other, each to what the
previous one committed, instead of failing on each other's version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from broker.model.directories import (
    Directory,
    DirectoryGroup,
    DirectoryRequest,
    DirectoryState,
    DirectoryToken,
    DirectoryUser,
    Filter,
    Found,
    LinkKey,
    Page,
)
from broker.model.directory_access import Standing

DirectoryPageKey = tuple[datetime, str]


class DirectoryRepo(Protocol):
    #: Requests kept per directory in the log, whatever their age (the purge keeps the
    #: log bounded in time too).
    REQUEST_LOG_SIZE: int

    def add(self, directory: Directory) -> None:
        """NotFound if the organization is gone; AlreadyExists on a taken id."""
        ...

    def get(self, directory_id: str) -> Directory:
        """NotFound if absent."""
        ...

    def of_organization(self, organization_id: str) -> Sequence[Directory]:
        """Oldest first (sign-in asks whether the organization has one)."""
        ...

    def page(
        self, *, organization_id: str | None, after: DirectoryPageKey | None, limit: int
    ) -> Sequence[Directory]:
        """Oldest first by (created_at, id); every organization's when None."""
        ...

    def set_state(self, directory_id: str, state: DirectoryState) -> None:
        """NotFound if absent."""
        ...

    def delete(self, directory_id: str) -> None:
        """Remove it with its tokens, users, groups, memberships and log; NotFound if absent."""
        ...

    # -- tokens ---------------------------------------------------------------------------

    def add_token(self, token: DirectoryToken) -> None: ...

    def token_by_hash(self, token_hash: str) -> DirectoryToken | None:
        """The token with this hash, usable or not (the caller decides with `usable`)."""
        ...

    def token_with_directory(self, token_hash: str) -> tuple[DirectoryToken, Directory] | None:
        """`token_by_hash` and the token's directory, read together: every SCIM request
        authenticates, and one statement costs less than two."""
        ...

    def tokens(self, directory_id: str) -> Sequence[DirectoryToken]:
        """Oldest first, revoked and expired ones included (hashes only)."""
        ...

    def expire_tokens(self, directory_id: str, *, at: datetime, keep: str) -> int:
        """Make every live token of the directory but `keep` expire at `at` (or earlier,
        if it already expires earlier): a rotation's overlap. Returns how many changed."""
        ...

    def revoke_tokens(self, directory_id: str, *, at: datetime) -> int:
        """Revoke every token of the directory still usable at `at`; returns how many."""
        ...

    # -- the request log ------------------------------------------------------------------

    def log_request(self, request: DirectoryRequest) -> None:
        """Append to the directory's log, dropping its entries beyond REQUEST_LOG_SIZE.
        Silently nothing if the directory is gone."""
        ...

    def requests(self, directory_id: str, *, limit: int) -> Sequence[DirectoryRequest]:
        """Newest first."""
        ...

    def purge_requests_before(self, before: datetime, *, limit: int) -> int:
        """Delete at most `limit` log entries at or before `before`."""
        ...


class DirectoryUserRepo(Protocol):
    def add(self, user: DirectoryUser) -> None:
        """AlreadyExists if the directory has a user with the same userName (compared
        case-insensitively) or the id is taken; NotFound if the directory is gone. The unit
        of work stays usable after AlreadyExists."""
        ...

    def get(self, directory_id: str, user_id: str, *, lock: bool = False) -> DirectoryUser:
        """NotFound if absent or of another directory."""
        ...

    def save(self, user: DirectoryUser, *, expected_version: int | None) -> None:
        """Store every field but id, directory and created_at. NotFound if absent,
        Conflict if `expected_version` is given and not the stored one, AlreadyExists if
        the new userName is taken (the unit of work stays usable)."""
        ...

    def delete(self, directory_id: str, user_id: str, *, expected_version: int | None) -> None:
        """Remove it and its memberships. NotFound / Conflict as `save`."""
        ...

    def search(self, directory_id: str, where: Filter | None, page: Page) -> Found[DirectoryUser]:
        """Matches in a stable order (creation, then id), `page.start` skipped."""
        ...

    def by_ids(self, directory_id: str, user_ids: Sequence[str]) -> Sequence[DirectoryUser]:
        """Those of `user_ids` that exist in the directory, in no particular order."""
        ...

    def linked(self, organization_id: str, key: LinkKey, value: str) -> DirectoryUser | None:
        """The user of the organization's ACTIVE directories an SSO identity is, by the link
        key: EMAIL matches the primary email, EXTERNAL_ID the externalId, SUBJECT the userName
        (email and userName case-insensitively). Of several matches (several directories),
        an inactive one wins: a person deactivated anywhere is refused. A DISABLED
        directory's users are not looked at: sign-in no longer follows it."""
        ...

    def standing(self, user_id: str) -> Standing | None:
        """Whether the user is active and its directory's state, by the user's id alone
        (one indexed query: `/userinfo` asks it for every token a directory governs); None
        when the user, or its whole directory, is gone."""
        ...

    def count(self, directory_id: str) -> int: ...


class DirectoryGroupRepo(Protocol):
    def add(self, group: DirectoryGroup) -> None:
        """NotFound if the directory is gone; AlreadyExists on a taken id."""
        ...

    def get(self, directory_id: str, group_id: str, *, lock: bool = False) -> DirectoryGroup:
        """NotFound if absent or of another directory."""
        ...

    def save(self, group: DirectoryGroup, *, expected_version: int | None) -> None:
        """As `DirectoryUserRepo.save` (no uniqueness: displayName is not unique)."""
        ...

    def delete(self, directory_id: str, group_id: str, *, expected_version: int | None) -> None:
        """Remove it and its memberships; NotFound / Conflict as `save`."""
        ...

    def search(
        self, directory_id: str, where: Filter | None, page: Page
    ) -> Found[DirectoryGroup]: ...

    def members(self, group_id: str) -> Sequence[str]:
        """The user ids of the group's members, in a stable order."""
        ...

    def member_list(self, group_id: str) -> Sequence[tuple[str, str | None]]:
        """(user id, display as the client sent it), in the order of `members`."""
        ...

    def add_members(
        self,
        group_id: str,
        user_ids: Sequence[str],
        displays: Mapping[str, str | None] | None = None,
    ) -> Sequence[str]:
        """Add the memberships that do not exist yet (the users must be of the group's
        directory: the caller checks), each with its `display` if given; returns the user
        ids actually added. NotFound if a user was deleted meanwhile (the unit of work is
        then unusable on PostgreSQL: the caller ends it)."""
        ...

    def remove_members(self, group_id: str, user_ids: Sequence[str]) -> Sequence[str]:
        """Returns the user ids actually removed."""
        ...

    def of_user(
        self, directory_id: str, user_id: str, *, limit: int | None = None
    ) -> Sequence[DirectoryGroup]:
        """The groups the user is a member of, by displayName; the first `limit` of them
        when given (the `directory_groups` claim is bounded)."""
        ...

    def count(self, directory_id: str) -> int: ...
