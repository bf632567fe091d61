"""`/organizations/{id}/domains`: claim, verify by DNS TXT (or on the caller's word, behind
its own scope), list, read, release."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from broker.management import Management, pagination
from broker.management.api.common import Input, ListQuery, list_query
from broker.management.api.operations import Call, Operation, Reply
from broker.management.domains import dns_record
from broker.model.records import Domain

TAG = "Domains"


class DomainCreate(Input):
    name: str = Field(
        min_length=1, max_length=253, description="e.g. acme.com; IDNs are stored as A-labels"
    )


class DnsRecordOut(BaseModel):
    type: Literal["TXT"]
    name: str
    value: str


class DomainOut(BaseModel):
    name: str
    verified: bool
    verified_at: datetime | None
    created_at: datetime | None
    verification: DnsRecordOut | None = Field(
        description="Publish this record, then call verify; null once verified"
    )


class DomainList(BaseModel):
    items: list[DomainOut]
    next_cursor: str | None


class VerificationOut(BaseModel):
    status: Literal["verified", "failed"]
    reason: str | None = Field(
        description="record_not_found, value_mismatch, timeout, resolver_error or "
        "verified_by_another_organization"
    )
    detail: str | None
    domain: DomainOut


def domain_out(domain: Domain) -> DomainOut:
    record = None if domain.is_verified else dns_record(domain)
    return DomainOut(
        name=domain.name,
        verified=domain.is_verified,
        verified_at=domain.verified_at,
        created_at=domain.created_at,
        verification=DnsRecordOut(type="TXT", name=record.name, value=record.value)
        if record
        else None,
    )


def operations(management: Management) -> list[Operation]:
    domains = management.domains

    def add(call: Call) -> Reply:
        assert isinstance(call.body, DomainCreate)
        org = call.path["organization_id"]
        created = domains.add(call.principal.actor, org, call.body.name)
        location = f"/api/v1/organizations/{org}/domains/{created.name}"
        return Reply(201, domain_out(created), location=location)

    def list_all(call: Call) -> Reply:
        query = list_query(call)
        size = pagination.limit(query.limit)
        found = domains.page(
            call.path["organization_id"],
            after=pagination.decode_name(query.cursor),
            limit=size + 1,
        )
        page = pagination.page(found, size, lambda d: pagination.encode(d.name))
        items = [domain_out(d) for d in page.items]
        return Reply(body=DomainList(items=items, next_cursor=page.next_cursor))

    def get(call: Call) -> Reply:
        found = domains.get(call.path["organization_id"], call.path["domain"])
        return Reply(body=domain_out(found))

    def verify(call: Call) -> Reply:
        outcome = domains.verify(
            call.principal.actor, call.path["organization_id"], call.path["domain"]
        )
        return Reply(
            body=VerificationOut(
                status="failed" if outcome.failure else "verified",
                reason=outcome.failure,
                detail=outcome.detail or None,
                domain=domain_out(outcome.domain),
            )
        )

    def assert_verified(call: Call) -> Reply:
        org, name = call.path["organization_id"], call.path["domain"]
        return Reply(body=domain_out(domains.mark_verified(call.principal.actor, org, name)))

    def delete(call: Call) -> Reply:
        domains.delete(call.principal.actor, call.path["organization_id"], call.path["domain"])
        return Reply(204)

    read, write = "domains:read", "domains:write"
    collection = "/organizations/{organization_id}/domains"
    item = collection + "/{domain}"
    return [
        Operation(method="POST", path=collection, operation_id="addDomain",
                  summary="Claim a domain; answers the DNS TXT record to publish", tag=TAG,
                  scope=write, handler=add, body=DomainCreate, response=DomainOut,
                  status=201, errors=(404, 409), idempotent_post=True),
        Operation(method="GET", path=collection, operation_id="listDomains",
                  summary="The organization's domains, by name", tag=TAG, scope=read,
                  handler=list_all, query=ListQuery, response=DomainList),
        Operation(method="GET", path=item, operation_id="getDomain", summary="Read a domain",
                  tag=TAG, scope=read, handler=get, response=DomainOut),
        Operation(method="POST", path=item + "/verify", operation_id="verifyDomain",
                  summary="Resolve the TXT record now and verify the domain", tag=TAG,
                  scope=write, handler=verify, response=VerificationOut,
                  description="A failed check answers 200 with status failed and the "
                  "reason, and is recorded as a domain.verification_failed event."),
        Operation(method="POST", path=item + "/assert-verified",
                  operation_id="assertDomainVerified",
                  summary="Mark the domain verified on the caller's word, without DNS",
                  tag=TAG, scope="domains:assert", handler=assert_verified,
                  response=DomainOut, errors=(404, 409),
                  description="For an organization that cannot publish the TXT record; the "
                  "same as `gatehouse domains verify --operator`. Needs the domains:assert "
                  "scope, which a client gets only when it is named. Recorded as a "
                  "domain.verified event with reason operator_assertion and the caller as "
                  "actor; a domain another organization verified answers 409."),
        Operation(method="DELETE", path=item, operation_id="deleteDomain",
                  summary="Release a domain; it stops routing logins at once", tag=TAG,
                  scope=write, handler=delete, status=204),
    ]  # fmt: skip
