"""The directory's verdict on a login, read from the store in the login's own unit of work
(the rules are `broker.model.directory_access`'s).

An organization without an ACTIVE directory costs one indexed query (its directories). With
one: a lookup per link key in use, the user count only when nobody matched, and the
person's groups when admitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from broker.login.refusals import LoginRefused
from broker.model.directories import Directory, DirectoryState, DirectoryUser
from broker.model.directory_access import MAX_GROUPS, group_claims, judge, link_value
from broker.model.login_policy import PolicyRefusal
from broker.model.records import UpstreamIdentity
from broker.store import UnitOfWork


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryAccess:
    """An admitted login's part from the directory: the directory user it is (for the
    token's live check at `/userinfo`) and the claims the app hears (none without an active
    directory)."""

    user_id: str | None = None
    claims: dict[str, object] = field(default_factory=dict)


NOT_GOVERNED = DirectoryAccess()


def directory_access(
    uow: UnitOfWork, organization_id: str, upstream: UpstreamIdentity
) -> DirectoryAccess:
    """The login's part from the organization's directory; raises LoginRefused when the
    directory says no (before the caller writes anything, so nothing is left behind)."""
    governing = [
        d
        for d in uow.directories.of_organization(organization_id)
        if d.state is DirectoryState.ACTIVE
    ]
    if not governing:
        return NOT_GOVERNED
    matches = _matches(uow, organization_id, governing, upstream)
    populated = bool(matches) or any(uow.directory_users.count(d.id) > 0 for d in governing)
    verdict = judge(matches, populated=populated, directory=governing[0].id)
    if isinstance(verdict, PolicyRefusal):
        raise LoginRefused(verdict.reason, f"{verdict.detail} for {organization_id}")
    if verdict is None:
        return DirectoryAccess(claims=group_claims([]))
    groups = uow.directory_groups.of_user(verdict.directory_id, verdict.id, limit=MAX_GROUPS + 1)
    return DirectoryAccess(
        user_id=verdict.id, claims=group_claims([g.display_name for g in groups])
    )


def _matches(
    uow: UnitOfWork,
    organization_id: str,
    governing: Sequence[Directory],
    upstream: UpstreamIdentity,
) -> list[DirectoryUser]:
    """The directory users the login links to, one lookup per link key in use; a match
    counts only in a directory that links by that key."""
    keyed = {d.id: d.link_key for d in governing}
    found: list[DirectoryUser] = []
    for key in dict.fromkeys(d.link_key for d in governing):
        value = link_value(key, upstream)
        user = uow.directory_users.linked(organization_id, key, value) if value else None
        if user is not None and keyed.get(user.directory_id) is key:
            found.append(user)
    return found
