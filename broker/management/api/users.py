"""`/organizations/{id}/users`: the identities that logged in to the organization."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from broker.management import Management, pagination
from broker.management.api.common import ListQuery, list_query
from broker.management.api.operations import Call, Operation, Reply
from broker.model.records import Identity

TAG = "Users"


class UserOut(BaseModel):
    id: str = Field(description="The sub Gatehouse asserts to the app")
    connection_id: str
    idp_subject: str = Field(description="Who the organization's IdP says they are")
    email: str | None
    created_at: datetime
    last_login_at: datetime


class UserList(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


def user_out(identity: Identity) -> UserOut:
    return UserOut(
        id=identity.id,
        connection_id=identity.connection_id,
        idp_subject=identity.idp_subject,
        email=identity.email,
        created_at=identity.created_at,
        last_login_at=identity.last_login_at,
    )


def operations(management: Management) -> list[Operation]:
    users = management.users

    def list_all(call: Call) -> Reply:
        query, org = list_query(call), call.path["organization_id"]
        page = pagination.read_page(
            query.cursor,
            query.limit,
            lambda after, limit: users.page(org, after=after, limit=limit),
            lambda u: (u.created_at, u.id),
        )
        items = [user_out(u) for u in page.items]
        return Reply(body=UserList(items=items, next_cursor=page.next_cursor))

    def get(call: Call) -> Reply:
        found = users.get(call.path["organization_id"], call.path["user_id"])
        return Reply(body=user_out(found))

    def delete(call: Call) -> Reply:
        users.delete(call.principal.actor, call.path["organization_id"], call.path["user_id"])
        return Reply(204)

    read, write = "users:read", "users:write"
    collection = "/organizations/{organization_id}/users"
    item = collection + "/{user_id}"
    return [
        Operation(method="GET", path=collection, operation_id="listUsers",
                  summary="The organization's users, by first login", tag=TAG, scope=read,
                  handler=list_all, query=ListQuery, response=UserList),
        Operation(method="GET", path=item, operation_id="getUser", summary="Read a user",
                  tag=TAG, scope=read, handler=get, response=UserOut),
        Operation(method="DELETE", path=item, operation_id="deleteUser",
                  summary="Forget a user", tag=TAG, scope=write, handler=delete, status=204,
                  description="Their next login creates a new user with a new id (sub)."),
    ]  # fmt: skip
