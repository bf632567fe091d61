"""`/organizations`: create, list, read (by id or external id), update, delete."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from broker.management import Management, pagination
from broker.management.api.common import Input, Key, ListQuery, Name, list_query
from broker.management.api.operations import Call, Operation, Reply
from broker.model.records import Organization

TAG = "Organizations"


class OrganizationCreate(Input):
    name: Name
    external_id: Key | None = Field(default=None, description="Your own key for the customer")


class OrganizationUpdate(Input):
    name: Name | None = None
    external_id: Key | None = Field(default=None, description="null removes it")


class OrganizationOut(BaseModel):
    id: str
    name: str
    external_id: str | None
    created_at: datetime


class OrganizationList(BaseModel):
    items: list[OrganizationOut]
    next_cursor: str | None


def organization_out(organization: Organization) -> OrganizationOut:
    return OrganizationOut(
        id=organization.id,
        name=organization.name,
        external_id=organization.external_id,
        created_at=organization.created_at,
    )


def operations(management: Management) -> list[Operation]:
    organizations = management.organizations

    def create(call: Call) -> Reply:
        assert isinstance(call.body, OrganizationCreate)
        created = organizations.create(
            call.principal.actor, name=call.body.name, external_id=call.body.external_id
        )
        return Reply(201, organization_out(created), location=f"/api/v1/organizations/{created.id}")

    def list_all(call: Call) -> Reply:
        query = list_query(call)
        page = pagination.read_page(
            query.cursor,
            query.limit,
            lambda after, limit: organizations.page(after=after, limit=limit),
            lambda o: (o.created_at, o.id),
        )
        return Reply(body=OrganizationList(items=[organization_out(o) for o in page.items],
                                           next_cursor=page.next_cursor))  # fmt: skip

    def get(call: Call) -> Reply:
        return Reply(body=organization_out(organizations.get(call.path["organization_id"])))

    def get_by_external_id(call: Call) -> Reply:
        found = organizations.get_by_external_id(call.path["external_id"])
        return Reply(body=organization_out(found))

    def update(call: Call) -> Reply:
        assert isinstance(call.body, OrganizationUpdate)
        given = call.body.model_fields_set
        updated = organizations.update(
            call.principal.actor,
            call.path["organization_id"],
            name=call.body.name,
            external_id=call.body.external_id,
            clear_external_id="external_id" in given and call.body.external_id is None,
        )
        return Reply(body=organization_out(updated))

    def delete(call: Call) -> Reply:
        organizations.delete(call.principal.actor, call.path["organization_id"])
        return Reply(204)

    read, write = "organizations:read", "organizations:write"
    item = "/organizations/{organization_id}"
    return [
        Operation(method="POST", path="/organizations", operation_id="createOrganization",
                  summary="Create an organization", tag=TAG, scope=write, handler=create,
                  body=OrganizationCreate, response=OrganizationOut, status=201,
                  errors=(409,), idempotent_post=True),
        Operation(method="GET", path="/organizations", operation_id="listOrganizations",
                  summary="List organizations, oldest first", tag=TAG, scope=read,
                  handler=list_all, query=ListQuery, response=OrganizationList, errors=()),
        Operation(method="GET", path=item, operation_id="getOrganization",
                  summary="Read an organization", tag=TAG, scope=read, handler=get,
                  response=OrganizationOut),
        Operation(method="GET", path="/organizations/by-external-id/{external_id}",
                  operation_id="getOrganizationByExternalId",
                  summary="Read an organization by your external id", tag=TAG, scope=read,
                  handler=get_by_external_id, response=OrganizationOut),
        Operation(method="PATCH", path=item, operation_id="updateOrganization",
                  summary="Rename, or change its external id", tag=TAG, scope=write,
                  handler=update, body=OrganizationUpdate, response=OrganizationOut,
                  errors=(404, 409)),
        Operation(method="DELETE", path=item, operation_id="deleteOrganization",
                  summary="Delete it with its domains, connections and users", tag=TAG,
                  scope=write, handler=delete, status=204,
                  description="From then on no login routes to it."),
    ]  # fmt: skip
