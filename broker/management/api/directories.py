"""`/directories`: create a directory for an organization (its SCIM token answered once),
list and read directories, rotate the token with an overlap, revoke every token, delete;
read the users and groups the IdP pushed and the log of recent SCIM requests.
`directories:read` reads, `directories:write` changes. No read ever answers a token (M-05);
a create or rotate retried with the same Idempotency-Key replays its answer without the
token (it is not kept anywhere in clear): rotate again to get a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from broker.management import Management, pagination
from broker.management.api.common import ID_PATTERN, Count, Input, ListQuery
from broker.management.api.operations import Call, Operation, Reply
from broker.management.directories import MAX_NAME, IssuedToken
from broker.model.directories import Directory, DirectoryGroup, DirectoryRequest, DirectoryUser

TAG = "Directories"
#: Users or groups per page of a directory's listing.
MAX_PAGE = 200


class DirectoryCreate(Input):
    organization_id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    name: str = Field(
        min_length=1, max_length=MAX_NAME, description="What the IT admin calls it: Okta, Entra ID"
    )
    link_key: Literal["email", "external_id", "subject"] = Field(
        default="email",
        description="How a directory user is matched to an SSO login: primary email, "
        "externalId = the IdP's subject, or userName = the IdP's subject",
    )


class TokenRotation(Input):
    overlap_seconds: int = Field(
        default=86_400, ge=0, le=7 * 86_400, strict=True,
        description="How long the previous token keeps working beside the new one",
    )  # fmt: skip


class DirectoryListQuery(ListQuery):
    organization_id: str | None = Field(
        default=None, max_length=200, pattern=ID_PATTERN, description="Only this organization's"
    )


class ResourceQuery(Input):
    start_index: Count | None = Field(default=None, ge=1, description="1-based, as SCIM pages")
    count: Count | None = Field(default=None, ge=0, description=f"page size; at most {MAX_PAGE}")


class DirectoryOut(BaseModel):
    id: str
    organization_id: str
    name: str
    link_key: str
    state: str
    created_at: datetime
    scim_base_url: str = Field(description="What the IdP's SCIM connector is given as its base URL")


class DirectoryWithToken(DirectoryOut):
    token: str | None = Field(
        description="gh_scim_...; shown only in this answer (null in an idempotent replay)"
    )
    previous_token_expires_at: datetime | None = None


class DirectoryList(BaseModel):
    items: list[DirectoryOut]
    next_cursor: str | None


class DirectoryUserOut(BaseModel):
    id: str
    user_name: str
    external_id: str | None
    active: bool
    display_name: str | None
    email: str | None
    emails: list[str]
    created_at: datetime
    updated_at: datetime


class DirectoryGroupOut(BaseModel):
    id: str
    display_name: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class DirectoryUserList(BaseModel):
    total: int
    items: list[DirectoryUserOut]


class DirectoryGroupList(BaseModel):
    total: int
    items: list[DirectoryGroupOut]


class DirectoryRequestOut(BaseModel):
    at: datetime
    method: str
    path: str
    status: int
    scim_type: str | None
    detail: str | None


class DirectoryRequestList(BaseModel):
    items: list[DirectoryRequestOut]


class RevokeAnswer(BaseModel):
    revoked: int


def directory_out(directory: Directory, issuer: str) -> dict[str, Any]:
    """The fields of `DirectoryOut` (the CLI answers them too): never a token."""
    return {
        "id": directory.id,
        "organization_id": directory.organization_id,
        "name": directory.name,
        "link_key": directory.link_key.value,
        "state": directory.state.value,
        "created_at": directory.created_at,
        "scim_base_url": f"{issuer}/scim/v2/{directory.id}",
    }


def user_out(user: DirectoryUser) -> dict[str, Any]:
    return {
        "id": user.id, "user_name": user.user_name, "external_id": user.external_id,
        "active": user.is_active, "display_name": user.display_name,
        "email": user.primary_email, "emails": list(user.emails),
        "created_at": user.created_at, "updated_at": user.updated_at,
    }  # fmt: skip


def group_out(group: DirectoryGroup) -> dict[str, Any]:
    return {
        "id": group.id, "display_name": group.display_name, "external_id": group.external_id,
        "created_at": group.created_at, "updated_at": group.updated_at,
    }  # fmt: skip


def request_out(request: DirectoryRequest) -> dict[str, Any]:
    return {
        "at": request.at, "method": request.method, "path": request.path,
        "status": request.status, "scim_type": request.scim_type, "detail": request.detail,
    }  # fmt: skip


def operations(management: Management) -> list[Operation]:
    directories = management.directories
    issuer = management.deps.issuer

    def with_token(issued: IssuedToken, status: int) -> Reply:
        answer = DirectoryWithToken.model_validate(
            directory_out(issued.directory, issuer)
            | {"token": issued.token, "previous_token_expires_at": issued.previous_expires_at}
        )
        # A retry with the same Idempotency-Key gets the answer without the token.
        return Reply(status, answer, kept=answer.model_dump(mode="json") | {"token": None})

    def replay(kept: Mapping[str, object]) -> Mapping[str, object]:
        return kept

    def create(call: Call) -> Reply:
        assert isinstance(call.body, DirectoryCreate)
        body = call.body
        issued = directories.create(
            call.principal.actor, organization_id=body.organization_id, name=body.name,
            link_key=body.link_key,
        )  # fmt: skip
        return with_token(issued, 201)

    def list_all(call: Call) -> Reply:
        assert isinstance(call.query, DirectoryListQuery)
        query, organization_id = call.query, call.query.organization_id
        page = pagination.read_page(
            query.cursor, query.limit,
            lambda after, limit: directories.page(
                organization_id=organization_id, after=after, limit=limit
            ),
            lambda d: (d.created_at, d.id),
        )  # fmt: skip
        items = [DirectoryOut.model_validate(directory_out(d, issuer)) for d in page.items]
        return Reply(body=DirectoryList(items=items, next_cursor=page.next_cursor))

    def get(call: Call) -> Reply:
        directory = directories.get(call.path["directory_id"])
        return Reply(body=DirectoryOut.model_validate(directory_out(directory, issuer)))

    def delete(call: Call) -> Reply:
        directories.delete(call.principal.actor, call.path["directory_id"])
        return Reply(204)

    def rotate(call: Call) -> Reply:
        assert isinstance(call.body, TokenRotation)
        overlap = timedelta(seconds=call.body.overlap_seconds)
        issued = directories.rotate_token(
            call.principal.actor, call.path["directory_id"], overlap=overlap
        )
        return with_token(issued, 200)

    def revoke(call: Call) -> Reply:
        revoked = directories.revoke(call.principal.actor, call.path["directory_id"])
        return Reply(body=RevokeAnswer(revoked=revoked))

    def paging(call: Call) -> tuple[int, int]:
        assert isinstance(call.query, ResourceQuery)
        start = (call.query.start_index or 1) - 1
        count = MAX_PAGE if call.query.count is None else min(call.query.count, MAX_PAGE)
        return start, count

    def users(call: Call) -> Reply:
        start, count = paging(call)
        found = directories.users(call.path["directory_id"], start=start, limit=count)
        items = [DirectoryUserOut.model_validate(user_out(u)) for u in found.items]
        return Reply(body=DirectoryUserList(total=found.total, items=items))

    def groups(call: Call) -> Reply:
        start, count = paging(call)
        found = directories.groups(call.path["directory_id"], start=start, limit=count)
        items = [DirectoryGroupOut.model_validate(group_out(g)) for g in found.items]
        return Reply(body=DirectoryGroupList(total=found.total, items=items))

    def requests(call: Call) -> Reply:
        found = directories.requests(call.path["directory_id"], limit=100)
        items = [DirectoryRequestOut.model_validate(request_out(r)) for r in found]
        return Reply(body=DirectoryRequestList(items=items))

    read, write = "directories:read", "directories:write"
    collection = "/directories"
    one = collection + "/{directory_id}"
    return [
        Operation(method="POST", path=collection, operation_id="createDirectory",
                  summary="Create an organization's SCIM directory; its token is answered "
                  "only this once", tag=TAG, scope=write, handler=create, body=DirectoryCreate,
                  response=DirectoryWithToken, status=201, errors=(404, 422),
                  idempotent_post=True, replay=replay),
        Operation(method="GET", path=collection, operation_id="listDirectories",
                  summary="Directories, oldest first", tag=TAG, scope=read,
                  handler=list_all, query=DirectoryListQuery, response=DirectoryList),
        Operation(method="GET", path=one, operation_id="getDirectory",
                  summary="A directory (never its token)", tag=TAG, scope=read,
                  handler=get, response=DirectoryOut),
        Operation(method="DELETE", path=one, operation_id="deleteDirectory",
                  summary="Delete a directory with its users, groups and tokens", tag=TAG,
                  scope=write, handler=delete, status=204),
        Operation(method="POST", path=one + "/rotate-token", operation_id="rotateDirectoryToken",
                  summary="A new SCIM token (answered once); the previous one keeps working "
                  "for the overlap", tag=TAG, scope=write, handler=rotate, body=TokenRotation,
                  response=DirectoryWithToken, errors=(404, 422), idempotent_post=True,
                  replay=replay),
        Operation(method="POST", path=one + "/revoke-tokens", operation_id="revokeDirectoryTokens",
                  summary="Revoke every token of the directory now", tag=TAG, scope=write,
                  handler=revoke, response=RevokeAnswer),
        Operation(method="GET", path=one + "/users", operation_id="listDirectoryUsers",
                  summary="The users the IdP pushed, in creation order", tag=TAG, scope=read,
                  handler=users, query=ResourceQuery, response=DirectoryUserList),
        Operation(method="GET", path=one + "/groups", operation_id="listDirectoryGroups",
                  summary="The groups the IdP pushed, in creation order", tag=TAG, scope=read,
                  handler=groups, query=ResourceQuery, response=DirectoryGroupList),
        Operation(method="GET", path=one + "/requests", operation_id="listDirectoryRequests",
                  summary="Recent SCIM requests and their outcomes, newest first", tag=TAG,
                  scope=read, handler=requests, response=DirectoryRequestList),
    ]  # fmt: skip
