"""`/organizations/{id}/portal-links`: create (the URL, once), list (never a URL), revoke.

The issue defines one scope for portal links, `portal_links:write`, so listing needs it too:
a list shows which links are live for which organization, which is for the same callers
that may create them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from broker.management import Management, pagination
from broker.management.api.common import ID_PATTERN, Input, ListQuery, list_query
from broker.management.api.operations import Call, Operation, Reply
from broker.management.portal_links import (
    DEFAULT_FEATURES,
    DEFAULT_MAX_USES,
    DEFAULT_TTL_SEC,
    MAX_MAX_USES,
    MAX_TTL_SEC,
    MIN_TTL_SEC,
    status,
)
from broker.model.management import PORTAL_FEATURES, PortalLink

TAG = "Portal links"

Feature = Annotated[str, WithJsonSchema({"type": "string", "enum": list(PORTAL_FEATURES)})]


class PortalLinkCreate(Input):
    profile_id: str | None = Field(
        default=None, max_length=200, pattern=ID_PATTERN, description="The self-service profile"
    )
    connection_id: str | None = Field(
        default=None, max_length=200, pattern=ID_PATTERN,
        description="Edit this connection of the organization; omit for a new one",
    )  # fmt: skip
    ttl_sec: int = Field(
        default=DEFAULT_TTL_SEC, ge=MIN_TTL_SEC, le=MAX_TTL_SEC, strict=True,
        description="Seconds the link stays valid; at most 24 hours",
    )  # fmt: skip
    max_uses: int = Field(
        default=DEFAULT_MAX_USES, ge=1, le=MAX_MAX_USES, strict=True,
        description="Portal sessions the link may open",
    )  # fmt: skip
    enabled_features: list[Feature] = Field(
        default_factory=lambda: list(DEFAULT_FEATURES), min_length=1,
        description="What the IT admin may do; an edit link needs sso",
    )  # fmt: skip


class PortalLinkOut(BaseModel):
    id: str
    profile_id: str | None
    connection_id: str | None
    enabled_features: list[str]
    max_uses: int
    uses: int
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime
    created_by: str
    status: Literal["active", "expired", "used_up", "revoked"]


class PortalLinkCreated(PortalLinkOut):
    url: str = Field(description="Send it to the IT admin; it is shown only this once")


class PortalLinkList(BaseModel):
    items: list[PortalLinkOut]
    next_cursor: str | None


def link_out(link: PortalLink, now: datetime) -> dict[str, object]:
    """The fields of `PortalLinkOut` (the CLI answers them too)."""
    return {
        "id": link.id,
        "profile_id": link.profile_id,
        "connection_id": link.connection_id,
        "enabled_features": list(link.enabled_features),
        "max_uses": link.max_uses,
        "uses": link.uses,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "created_at": link.created_at,
        "created_by": link.created_by,
        "status": status(link, now),
    }


def operations(management: Management) -> list[Operation]:
    links = management.portal_links
    clock = management.deps.clock

    def create(call: Call) -> Reply:
        assert isinstance(call.body, PortalLinkCreate)
        body = call.body
        issued = links.create(
            call.principal.actor,
            call.path["organization_id"],
            profile_id=body.profile_id,
            connection_id=body.connection_id,
            ttl_sec=body.ttl_sec,
            max_uses=body.max_uses,
            enabled_features=body.enabled_features,
        )
        created = PortalLinkCreated.model_validate(
            link_out(issued.link, clock.now()) | {"url": issued.url}
        )
        kept = created.model_dump(mode="json") | {
            "url": None,
            "sealed_url": links.seal_url(issued.link.id, issued.url),
        }
        return Reply(201, created, kept=kept)

    def replay(kept: Mapping[str, object]) -> Mapping[str, object]:
        body = {k: v for k, v in kept.items() if k != "sealed_url"}
        body["url"] = links.unseal_url(str(kept["id"]), str(kept["sealed_url"]))
        return body

    def list_all(call: Call) -> Reply:
        query, org = list_query(call), call.path["organization_id"]
        page = pagination.read_page(
            query.cursor,
            query.limit,
            lambda after, limit: links.page(org, after=after, limit=limit),
            lambda k: (k.created_at, k.id),
        )
        now = clock.now()
        items = [PortalLinkOut.model_validate(link_out(k, now)) for k in page.items]
        return Reply(body=PortalLinkList(items=items, next_cursor=page.next_cursor))

    def revoke(call: Call) -> Reply:
        links.revoke(call.principal.actor, call.path["organization_id"], call.path["link_id"])
        return Reply(204)

    scope = "portal_links:write"
    collection = "/organizations/{organization_id}/portal-links"
    return [
        Operation(method="POST", path=collection, operation_id="createPortalLink",
                  summary="Create a portal link; its URL is answered only this once",
                  tag=TAG, scope=scope, handler=create, body=PortalLinkCreate,
                  response=PortalLinkCreated, status=201, errors=(404, 409),
                  idempotent_post=True,
                  replay=replay,
                  description="A retry with the same Idempotency-Key answers the same "
                  "link and URL (kept encrypted, never in clear)."),
        Operation(method="GET", path=collection, operation_id="listPortalLinks",
                  summary="The organization's portal links, oldest first, without URLs",
                  tag=TAG, scope=scope, handler=list_all, query=ListQuery,
                  response=PortalLinkList),
        Operation(method="DELETE", path=collection + "/{link_id}",
                  operation_id="revokePortalLink",
                  summary="Revoke a portal link (idempotent)", tag=TAG, scope=scope,
                  handler=revoke, status=204),
    ]  # fmt: skip
