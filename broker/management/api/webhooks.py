"""`/webhook-endpoints`: register, list, read, change and delete endpoints; rotate the
signing secret (the new one answered once) and end the overlap; read deliveries with their
attempts; re-send an event. `webhooks:read` reads, `webhooks:write` changes.

A secret is in the create and rotate answers only; a retry of either with the same
Idempotency-Key replays it from a sealed copy, never from clear text at rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from broker.management import Management, pagination
from broker.management.api.common import ID_PATTERN, Input, ListQuery, list_query
from broker.management.api.operations import Call, Operation, Reply
from broker.management.webhooks import MAX_EVENT_TYPES, MAX_URL, EndpointChange, IssuedSecret
from broker.model.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

TAG = "Webhooks"

Pattern = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[a-z0-9_.*]+$")]
Url = Annotated[str, Field(min_length=1, max_length=MAX_URL, pattern=r"^[!-~]+$")]
OrgId = Annotated[str, Field(max_length=200, pattern=ID_PATTERN)]
#: An organization id, or "" to listen to every organization again.
OrgFilter = Annotated[str, Field(max_length=200, pattern=r"^[!-~]*$")]


class EndpointCreate(Input):
    url: Url = Field(description="https (http only to loopback, in development)")
    event_types: list[Pattern] = Field(
        min_length=1, max_length=MAX_EVENT_TYPES,
        description="Exact kinds, families (connection.*) or *; login.* and "
        "webhook_endpoint.* only when named",
    )  # fmt: skip
    organization_id: OrgId | None = Field(default=None, description="Only this organization's")
    enabled: bool = True


class EndpointUpdate(Input):
    url: Url | None = None
    event_types: list[Pattern] | None = Field(
        default=None, min_length=1, max_length=MAX_EVENT_TYPES
    )
    organization_id: OrgFilter | None = Field(
        default=None, description="Only this organization's; \"\" for every organization's"
    )
    enabled: bool | None = None


class SecretRotation(Input):
    overlap_seconds: int = Field(
        default=86_400, ge=0, le=7 * 86_400, strict=True,
        description="How long the previous secret keeps signing beside the new one",
    )  # fmt: skip


class Resend(Input):
    event_id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN)


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    organization_id: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_...; shown only in this answer")


class EndpointList(BaseModel):
    items: list[EndpointOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None
    manual: bool


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str
    error: str | None


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def endpoint_out(endpoint: WebhookEndpoint) -> dict[str, object]:
    """The fields of `EndpointOut` (the CLI answers them too): never a secret."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "organization_id": endpoint.organization_id,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "previous_secret_expires_at": endpoint.previous_secret_expires_at,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def delivery_out(delivery: WebhookDelivery) -> dict[str, object]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "created_at": delivery.created_at,
        "finished_at": delivery.finished_at,
        "manual": delivery.manual,
    }


def attempt_out(attempt: WebhookAttempt) -> dict[str, object]:
    return {
        "at": attempt.at,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "response_excerpt": attempt.response_excerpt,
        "error": attempt.error,
    }


def operations(management: Management) -> list[Operation]:
    webhooks = management.webhooks

    def with_secret(issued: IssuedSecret, status: int) -> Reply:
        answer = EndpointWithSecret.model_validate(
            endpoint_out(issued.endpoint) | {"secret": issued.secret}
        )
        kept = answer.model_dump(mode="json") | {
            "secret": None,
            "sealed_secret": webhooks.seal_secret(issued.endpoint.id, issued.secret),
        }
        return Reply(status, answer, kept=kept)

    def replay(kept: Mapping[str, object]) -> Mapping[str, object]:
        body = {k: v for k, v in kept.items() if k != "sealed_secret"}
        body["secret"] = webhooks.unseal_secret(str(kept["id"]), str(kept["sealed_secret"]))
        return body

    def create(call: Call) -> Reply:
        assert isinstance(call.body, EndpointCreate)
        body = call.body
        issued = webhooks.create(
            call.principal.actor, url=body.url, event_types=body.event_types,
            organization_id=body.organization_id, enabled=body.enabled,
        )  # fmt: skip
        return with_secret(issued, 201)

    def list_all(call: Call) -> Reply:
        query = list_query(call)
        page = pagination.read_page(
            query.cursor, query.limit,
            lambda after, limit: webhooks.page(after=after, limit=limit),
            lambda e: (e.created_at, e.id),
        )  # fmt: skip
        items = [EndpointOut.model_validate(endpoint_out(e)) for e in page.items]
        return Reply(body=EndpointList(items=items, next_cursor=page.next_cursor))

    def get(call: Call) -> Reply:
        endpoint = webhooks.get(call.path["endpoint_id"])
        return Reply(body=EndpointOut.model_validate(endpoint_out(endpoint)))

    def update(call: Call) -> Reply:
        assert isinstance(call.body, EndpointUpdate)
        body = call.body
        change = EndpointChange(
            url=body.url, event_types=body.event_types, organization_id=body.organization_id,
            enabled=body.enabled,
        )  # fmt: skip
        changed = webhooks.update(call.principal.actor, call.path["endpoint_id"], change)
        return Reply(body=EndpointOut.model_validate(endpoint_out(changed)))

    def delete(call: Call) -> Reply:
        webhooks.delete(call.principal.actor, call.path["endpoint_id"])
        return Reply(204)

    def rotate(call: Call) -> Reply:
        assert isinstance(call.body, SecretRotation)
        overlap = timedelta(seconds=call.body.overlap_seconds)
        issued = webhooks.rotate_secret(
            call.principal.actor, call.path["endpoint_id"], overlap=overlap
        )
        return with_secret(issued, 200)

    def revoke_previous(call: Call) -> Reply:
        revoked = webhooks.revoke_previous_secret(call.principal.actor, call.path["endpoint_id"])
        return Reply(body=EndpointOut.model_validate(endpoint_out(revoked)))

    def deliveries(call: Call) -> Reply:
        query, endpoint_id = list_query(call), call.path["endpoint_id"]
        page = pagination.read_page(
            query.cursor, query.limit,
            lambda before, limit: webhooks.deliveries(endpoint_id, before=before, limit=limit),
            lambda d: (d.created_at, d.id),
        )  # fmt: skip
        items = [DeliveryOut.model_validate(delivery_out(d)) for d in page.items]
        return Reply(body=DeliveryList(items=items, next_cursor=page.next_cursor))

    def delivery(call: Call) -> Reply:
        found, attempts = webhooks.delivery(call.path["endpoint_id"], call.path["delivery_id"])
        detail = delivery_out(found) | {"attempt_log": [attempt_out(a) for a in attempts]}
        return Reply(body=DeliveryDetail.model_validate(detail))

    def resend(call: Call) -> Reply:
        assert isinstance(call.body, Resend)
        made = webhooks.resend(call.principal.actor, call.path["endpoint_id"], call.body.event_id)
        return Reply(202, DeliveryOut.model_validate(delivery_out(made)))

    read, write = "webhooks:read", "webhooks:write"
    collection = "/webhook-endpoints"
    one = collection + "/{endpoint_id}"
    return [
        Operation(method="POST", path=collection, operation_id="createWebhookEndpoint",
                  summary="Register a webhook endpoint; its signing secret is answered only "
                  "this once", tag=TAG, scope=write, handler=create, body=EndpointCreate,
                  response=EndpointWithSecret, status=201, errors=(404, 422),
                  idempotent_post=True, replay=replay),
        Operation(method="GET", path=collection, operation_id="listWebhookEndpoints",
                  summary="Webhook endpoints, oldest first", tag=TAG, scope=read,
                  handler=list_all, query=ListQuery, response=EndpointList),
        Operation(method="GET", path=one, operation_id="getWebhookEndpoint",
                  summary="A webhook endpoint (never its secret)", tag=TAG, scope=read,
                  handler=get, response=EndpointOut),
        Operation(method="PATCH", path=one, operation_id="updateWebhookEndpoint",
                  summary="Change URL, event types, organization filter or enabled",
                  tag=TAG, scope=write, handler=update, body=EndpointUpdate,
                  response=EndpointOut, errors=(404, 422)),
        Operation(method="DELETE", path=one, operation_id="deleteWebhookEndpoint",
                  summary="Delete an endpoint with its deliveries", tag=TAG, scope=write,
                  handler=delete, status=204),
        Operation(method="POST", path=one + "/rotate-secret",
                  operation_id="rotateWebhookSecret",
                  summary="A new signing secret (answered once); the previous one keeps "
                  "signing for the overlap", tag=TAG, scope=write, handler=rotate,
                  body=SecretRotation, response=EndpointWithSecret, errors=(404, 422),
                  idempotent_post=True, replay=replay),
        Operation(method="POST", path=one + "/revoke-previous-secret",
                  operation_id="revokePreviousWebhookSecret",
                  summary="End a rotation's overlap now", tag=TAG, scope=write,
                  handler=revoke_previous, response=EndpointOut),
        Operation(method="GET", path=one + "/deliveries", operation_id="listWebhookDeliveries",
                  summary="The endpoint's deliveries, newest first", tag=TAG, scope=read,
                  handler=deliveries, query=ListQuery, response=DeliveryList),
        Operation(method="GET", path=one + "/deliveries/{delivery_id}",
                  operation_id="getWebhookDelivery",
                  summary="A delivery with every attempt (time, status, latency, answer)",
                  tag=TAG, scope=read, handler=delivery, response=DeliveryDetail),
        Operation(method="POST", path=one + "/resend", operation_id="resendWebhookEvent",
                  summary="Deliver a past event again (same webhook-id)", tag=TAG,
                  scope=write, handler=resend, body=Resend, response=DeliveryOut,
                  status=202, errors=(404, 422)),
    ]  # fmt: skip
