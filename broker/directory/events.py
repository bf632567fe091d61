"""The events a directory's changes record (`directory.*`), in the change's unit of work.

`uow.audit.record` puts each in the webhook outbox in the same transaction
(`broker.model.webhook_catalogue`: the `directory` family is delivered to `*`
subscribers), so an app hears of a deactivation exactly when it is committed, and a
refused request records nothing.

    directory.user.created | updated | deactivated | reactivated | deleted
    directory.group.created | updated | deleted
    directory.group.user_added | user_removed

Details name the directory and the resource by id and the values an app keys people by
(userName, externalId, primary email); never the whole SCIM resource. A deleted user's
memberships go with it and are not each told: `directory.user.deleted` says it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from broker.model.directories import Directory, DirectoryGroup, DirectoryUser
from broker.model.records import AuditEvent
from broker.store.protocols import UnitOfWork


@dataclass(frozen=True, slots=True)
class EventContext:
    directory: Directory
    request_id: str | None


def user_detail(user: DirectoryUser) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "user_name": user.user_name,
        "external_id": user.external_id,
        "email": user.primary_email,
        "active": user.is_active,
    }


def group_detail(group: DirectoryGroup) -> dict[str, Any]:
    return {
        "group_id": group.id,
        "display_name": group.display_name,
        "external_id": group.external_id,
    }


def record(
    uow: UnitOfWork, context: EventContext, kind: str, at: datetime, detail: dict[str, Any]
) -> None:
    uow.audit.record(
        AuditEvent(
            at=at,
            kind=f"directory.{kind}",
            actor=f"directory:{context.directory.id}",
            organization_id=context.directory.organization_id,
            request_id=context.request_id,
            detail={"directory_id": context.directory.id, **detail},
        )
    )


def user_changes(previous: DirectoryUser, current: DirectoryUser) -> list[str]:
    """The kinds an update records: `deactivated`/`reactivated` when `active` turned, and
    `updated` when anything else changed too (an Entra "soft delete" PATCH is a
    deactivation only)."""
    kinds: list[str] = []
    if previous.is_active and not current.is_active:
        kinds.append("user.deactivated")
    elif not previous.is_active and current.is_active:
        kinds.append("user.reactivated")
    rest_before = {k: v for k, v in previous.resource.items() if k != "active"}
    rest_after = {k: v for k, v in current.resource.items() if k != "active"}
    if rest_before != rest_after:
        kinds.append("user.updated")
    return kinds
