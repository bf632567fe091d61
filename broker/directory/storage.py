"""scim2-server's `ScimStorage` on a directory's tables, through our unit of work.

One storage per request, bound to one directory and one unit of work: every read and
write names the directory (another directory's ids are 404), and every change records
its event in the same transaction (`events`). The request commits or rolls back as a
whole (`service`), so nothing is half-written.

`lock_reads` is set for PUT, PATCH and DELETE: the handler reads the resource, applies the
request and writes it back; with the row locked from that read (PostgreSQL FOR UPDATE;
SQLite runs one writer at a time anyway), concurrent PATCHes of one group apply in turn,
each to what the previous one committed, so none loses another's members and none fails
on a version it never asked to check.

Group members are written as deltas: the handler hands over the group's new member list,
and only the memberships that appeared or disappeared become INSERTs and DELETEs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scim2_models import (
    InvalidFilterException,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    SearchRequest,
    UniquenessException,
)
from scim2_server.storage import ScimStorage, SearchPage

from broker.clock import Clock
from broker.directory import events
from broker.directory.events import EventContext, group_detail, user_detail
from broker.directory.filters import translate
from broker.directory.resources import (
    created_user_resource,
    group_resource,
    member_displays,
    member_ids,
    new_group,
    new_user,
    user_resource,
    version_of,
)
from broker.model.directories import DirectoryGroup, DirectoryUser, Filter, Page
from broker.model.opaque import looks_like_id, new_id
from broker.store.protocols import AlreadyExists, Conflict, NotFound, UnitOfWork


class DirectoryStorage(ScimStorage):
    def __init__(
        self,
        uow: UnitOfWork,
        context: EventContext,
        *,
        clock: Clock,
        models: dict[str, type[Resource[Any]]],
        lock_reads: bool = False,
    ) -> None:
        self._uow = uow
        self._context = context
        self._directory_id = context.directory.id
        self._clock = clock
        self._models = models
        self._lock = lock_reads

    # -- reads ----------------------------------------------------------------------------

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        kind = self._kind(resource_type)
        if kind == "User":
            return user_resource(self._models["User"], self._user(resource_id))
        group = self._group(resource_id)
        members = (
            self._uow.directory_groups.member_list(group.id)
            if _wants_members(response_parameters)
            else None
        )
        return group_resource(self._models["Group"], group, members)

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """One resource type, or several (a search at the root: Users, then Groups, as one
        collection, each in its stable order). At the root, a filter naming an attribute
        one type lacks matches none of that type (RFC 7644 §3.4.2.1)."""
        kinds = [self._kind(rt) for rt in resource_types]
        wheres: dict[str, Filter | None] = {}
        refusal: InvalidFilterException | None = None
        for kind in kinds:
            try:
                wheres[kind] = (
                    None
                    if search_request.filter is None
                    else translate(search_request.filter.ast, resource=kind)
                )
            except InvalidFilterException as exc:
                if len(kinds) == 1:
                    raise
                refusal = exc
        if not wheres and refusal is not None:
            raise refusal
        start = max((search_request.start_index or 1) - 1, 0)
        count = search_request.count
        total, resources = 0, []
        for kind in kinds:
            if kind not in wheres:
                continue
            page = Page(start=max(start - total, 0), count=count)
            found_total, found = self._search_one(kind, wheres[kind], page, search_request)
            total += found_total
            resources += found
            if count is not None:
                count = max(count - len(found), 0)
        return SearchPage(total=total, resources=resources)

    def _search_one(
        self, kind: str, where: Filter | None, page: Page, search_request: SearchRequest[Any]
    ) -> tuple[int, list[Resource[Any]]]:
        if kind == "User":
            users = self._uow.directory_users.search(self._directory_id, where, page)
            model = self._models["User"]
            return users.total, [user_resource(model, u) for u in users.items]
        groups = self._uow.directory_groups.search(self._directory_id, where, page)
        with_members = _wants_members(search_request)
        model = self._models["Group"]
        members = self._uow.directory_groups.member_list
        return groups.total, [
            group_resource(model, g, members(g.id) if with_members else None) for g in groups.items
        ]

    # -- writes ---------------------------------------------------------------------------

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        now = self._clock.now()
        if self._kind(resource_type) == "User":
            user = new_user(
                resource,
                user_id=new_id("dsu"),
                directory_id=self._directory_id,
                version=1,
                created_at=now,
                now=now,
            )
            try:
                self._uow.directory_users.add(user)
            except AlreadyExists:
                raise UniquenessException(detail=f"userName {user.user_name!r} is taken") from None
            events.record(self._uow, self._context, "user.created", now, user_detail(user))
            return created_user_resource(resource, user)
        group = new_group(
            resource,
            group_id=new_id("dsg"),
            directory_id=self._directory_id,
            version=1,
            created_at=now,
            now=now,
        )
        members = self._existing_users(member_ids(resource))
        self._uow.directory_groups.add(group)
        events.record(self._uow, self._context, "group.created", now, group_detail(group))
        groups = self._uow.directory_groups
        added = self._add_members(group.id, members, resource)
        self._membership_events("group.user_added", group, added, now)
        return group_resource(self._models["Group"], group, groups.member_list(group.id))

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        expected = version_of(expected_version)
        resource_id = str(resource.id or "")
        if self._kind(resource_type) == "User":
            return self._update_user(resource_id, resource, expected)
        return self._update_group(resource_id, resource, expected)

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        expected = version_of(expected_version)
        now = self._clock.now()
        try:
            if self._kind(resource_type) == "User":
                user = self._user(resource_id)
                self._uow.directory_users.delete(
                    self._directory_id, resource_id, expected_version=expected
                )
                events.record(self._uow, self._context, "user.deleted", now, user_detail(user))
            else:
                group = self._group(resource_id)
                self._uow.directory_groups.delete(
                    self._directory_id, resource_id, expected_version=expected
                )
                events.record(self._uow, self._context, "group.deleted", now, group_detail(group))
        except Conflict:
            raise PreconditionFailedException(detail="the resource changed") from None
        except NotFound:
            raise NotFoundException(detail=f"{resource_id} not found") from None

    # -- helpers --------------------------------------------------------------------------

    def _update_user(
        self, user_id: str, resource: Resource[Any], expected: int | None
    ) -> Resource[Any]:
        previous = self._user(user_id)
        if expected is not None and previous.version != expected:
            raise PreconditionFailedException(detail="the resource changed")
        now = self._clock.now()
        user = new_user(
            resource,
            user_id=previous.id,
            directory_id=self._directory_id,
            version=previous.version + 1,
            created_at=previous.created_at,
            now=now,
        )
        if _same_user(previous, user):
            return user_resource(self._models["User"], previous)
        try:
            self._uow.directory_users.save(user, expected_version=previous.version)
        except AlreadyExists:
            raise UniquenessException(detail=f"userName {user.user_name!r} is taken") from None
        except Conflict:
            raise PreconditionFailedException(detail="the resource changed") from None
        for kind in events.user_changes(previous, user):
            events.record(self._uow, self._context, kind, now, user_detail(user))
        return user_resource(self._models["User"], user)

    def _update_group(
        self, group_id: str, resource: Resource[Any], expected: int | None
    ) -> Resource[Any]:
        previous = self._group(group_id)
        if expected is not None and previous.version != expected:
            raise PreconditionFailedException(detail="the resource changed")
        now = self._clock.now()
        group = new_group(
            resource,
            group_id=previous.id,
            directory_id=self._directory_id,
            version=previous.version + 1,
            created_at=previous.created_at,
            now=now,
        )
        groups = self._uow.directory_groups
        current = groups.members(group_id)
        wanted = member_ids(resource)
        wanted_set, current_set = set(wanted), set(current)
        joining = [m for m in wanted if m not in current_set]
        leaving = [m for m in current if m not in wanted_set]
        joining = self._existing_users(joining)
        changed = (group.display_name, group.external_id, dict(group.resource)) != (
            previous.display_name,
            previous.external_id,
            dict(previous.resource),
        )
        if not (changed or joining or leaving):
            return group_resource(self._models["Group"], previous, groups.member_list(group_id))
        try:
            groups.save(group, expected_version=previous.version)
        except Conflict:
            raise PreconditionFailedException(detail="the resource changed") from None
        if changed:
            events.record(self._uow, self._context, "group.updated", now, group_detail(group))
        self._membership_events(
            "group.user_removed", group, groups.remove_members(group_id, leaving), now
        )
        added = self._add_members(group_id, joining, resource)
        self._membership_events("group.user_added", group, added, now)
        return group_resource(self._models["Group"], group, groups.member_list(group_id))

    def _membership_events(
        self, kind: str, group: DirectoryGroup, user_ids: Sequence[str], now: Any
    ) -> None:
        for user_id in user_ids:
            detail = {"group_id": group.id, "display_name": group.display_name, "user_id": user_id}
            events.record(self._uow, self._context, kind, now, detail)

    def _add_members(
        self, group_id: str, user_ids: Sequence[str], resource: Resource[Any]
    ) -> Sequence[str]:
        try:
            return self._uow.directory_groups.add_members(
                group_id, user_ids, member_displays(resource)
            )
        except NotFound:
            raise InvalidValueException(detail="a member was deleted meanwhile; retry") from None

    def _existing_users(self, user_ids: Sequence[str]) -> list[str]:
        """The ids, all of them users of this directory; a member that is not one (another
        directory's user, a group: nested groups are not supported) is refused."""
        if not user_ids:
            return []
        found = {u.id for u in self._uow.directory_users.by_ids(self._directory_id, user_ids)}
        missing = [m for m in user_ids if m not in found]
        if missing:
            raise InvalidValueException(
                detail=f"member {missing[0][:64]!r} is not a user of this directory"
            )
        return list(user_ids)

    def _kind(self, resource_type: ResourceType) -> str:
        if resource_type.id in ("User", "Group"):
            return str(resource_type.id)
        raise NotFoundException(detail=f"no resource type {resource_type.id}")

    def _user(self, user_id: str) -> DirectoryUser:
        if not looks_like_id(user_id):
            raise NotFoundException(detail="user not found")
        try:
            return self._uow.directory_users.get(self._directory_id, user_id, lock=self._lock)
        except NotFound:
            raise NotFoundException(detail=f"user {user_id} not found") from None

    def _group(self, group_id: str) -> DirectoryGroup:
        if not looks_like_id(group_id):
            raise NotFoundException(detail="group not found")
        try:
            return self._uow.directory_groups.get(self._directory_id, group_id, lock=self._lock)
        except NotFound:
            raise NotFoundException(detail=f"group {group_id} not found") from None


def _same_user(previous: DirectoryUser, user: DirectoryUser) -> bool:
    return (previous.resource, previous.active, previous.external_id) == (
        user.resource,
        user.active,
        user.external_id,
    ) and previous.user_name == user.user_name


def _wants_members(parameters: Any) -> bool:
    """Whether a response keeps `members`: not when excluded, nor when `attributes` names
    others only (Entra reads groups with `excludedAttributes=members`; a 10,000-member
    group is then not loaded)."""
    if parameters is None:
        return True
    excluded = [str(a).lower() for a in (getattr(parameters, "excluded_attributes", None) or [])]
    if any(a == "members" or a.endswith(":members") for a in excluded):
        return False
    attributes = [str(a).lower() for a in (getattr(parameters, "attributes", None) or [])]
    return not attributes or any("members" in a for a in attributes)
