"""SCIM resources <-> the store's `DirectoryUser` and `DirectoryGroup`.

What is stored is the resource as the client sent it (validated by scim2-models), less
what the server owns or must never keep: `id` and `meta` (columns), a User's `password`
(RFC 7643 §4.1.1 makes it write-only; Gatehouse authenticates nobody by it, so it is
dropped, never stored) and `groups` (read-only, derived from memberships), a Group's
`members` (rows of their own).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scim2_models import Context, Meta, PreconditionFailedException, Resource

from broker.model.directories import DirectoryGroup, DirectoryUser

_NOT_STORED = frozenset({"id", "meta", "password", "groups", "members"})


def version_tag(version: int) -> str:
    """The ETag of a version (RFC 7644 §3.14: weak)."""
    return f'W/"{version}"'


def version_of(tag: str | None) -> int | None:
    """The version an ETag names; a tag Gatehouse never issued is a failed precondition."""
    if tag is None:
        return None
    digits = tag.removeprefix("W/").strip('"')
    if not digits.isdigit() or len(digits) > 18:
        raise PreconditionFailedException(detail="unknown version")
    return int(digits)


def stored_json(resource: Resource[Any]) -> dict[str, Any]:
    dumped: dict[str, Any] = resource.model_dump(mode="json", scim_ctx=Context.DEFAULT)
    return {key: value for key, value in dumped.items() if key not in _NOT_STORED}


def email_values(resource: Resource[Any]) -> tuple[tuple[str, ...], str | None]:
    """Every email value in order, and the primary one: `primary: true`, else the work
    one, else the first (Entra marks none primary on some tenants)."""
    emails = [e for e in (getattr(resource, "emails", None) or []) if e.value]
    values = tuple(str(e.value) for e in emails)
    primary = next((e for e in emails if e.primary), None)
    primary = primary or next((e for e in emails if (e.type or "").lower() == "work"), None)
    chosen = primary.value if primary is not None else (values[0] if values else None)
    return values, None if chosen is None else str(chosen)


def new_user(
    resource: Resource[Any],
    *,
    user_id: str,
    directory_id: str,
    version: int,
    created_at: datetime,
    now: datetime,
) -> DirectoryUser:
    emails, primary = email_values(resource)
    display = getattr(resource, "display_name", None)
    return DirectoryUser(
        id=user_id,
        directory_id=directory_id,
        user_name=str(getattr(resource, "user_name", "") or ""),
        external_id=resource.external_id or None,
        active=getattr(resource, "active", None),
        display_name=display or None,
        emails=emails,
        primary_email=primary,
        resource=stored_json(resource),
        version=version,
        created_at=created_at,
        updated_at=now,
    )


def new_group(
    resource: Resource[Any],
    *,
    group_id: str,
    directory_id: str,
    version: int,
    created_at: datetime,
    now: datetime,
) -> DirectoryGroup:
    return DirectoryGroup(
        id=group_id,
        directory_id=directory_id,
        display_name=str(getattr(resource, "display_name", "") or ""),
        external_id=resource.external_id or None,
        resource=stored_json(resource),
        version=version,
        created_at=created_at,
        updated_at=now,
    )


def member_ids(resource: Resource[Any]) -> list[str]:
    """The member ids a Group resource lists, in order, once each."""
    members = getattr(resource, "members", None) or []
    return list(dict.fromkeys(str(m.value) for m in members if m.value))


def member_displays(resource: Resource[Any]) -> dict[str, str | None]:
    members = getattr(resource, "members", None) or []
    return {str(m.value): m.display for m in members if m.value}


def _meta(kind: str, created: datetime, updated: datetime, version: int) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": created.isoformat(),
        "lastModified": updated.isoformat(),
        "version": version_tag(version),
    }


def user_resource(model: type[Resource[Any]], user: DirectoryUser) -> Resource[Any]:
    data = {
        **user.resource,
        "id": user.id,
        "meta": _meta("User", user.created_at, user.updated_at, user.version),
    }
    return model.model_validate(data, scim_ctx=Context.DEFAULT)


def created_user_resource(resource: Resource[Any], user: DirectoryUser) -> Resource[Any]:
    """What a create answers: the request's resource, already validated, with the row's
    id and meta and without what is never stored (`_NOT_STORED`). The same resource as
    `user_resource` of the row just written (its JSON is this resource's dump less those
    attributes) without a second validation of it: a third of a create's pydantic work."""
    meta = Meta(
        resource_type="User",
        created=user.created_at,
        last_modified=user.updated_at,
        version=version_tag(user.version),
    )
    return resource.model_copy(
        update={"id": user.id, "meta": meta, "password": None, "groups": None}
    )


def group_resource(
    model: type[Resource[Any]],
    group: DirectoryGroup,
    members: Sequence[tuple[str, str | None]] | None,
) -> Resource[Any]:
    data: dict[str, Any] = {
        **group.resource,
        "id": group.id,
        "meta": _meta("Group", group.created_at, group.updated_at, group.version),
    }
    if members:
        data["members"] = [
            {"value": m, "$ref": f"Users/{m}", "type": "User", "display": display}
            for m, display in members
        ]
    return model.model_validate(data, scim_ctx=Context.DEFAULT)
