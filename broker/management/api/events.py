"""`/events`: the audit log, newest first, filtered by organization, type, request and
time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import AwareDatetime, BaseModel, Field

from broker.management import Management, pagination
from broker.management.api.common import ID_PATTERN, Count, Input, ListQuery
from broker.management.api.operations import NDJSON, Call, Operation, Reply
from broker.management.events import MAX_TYPE, TYPE_PATTERN, EventFilter
from broker.model.records import AuditEvent

TAG = "Events"


class EventWhere(Input):
    """The filters a list and an export share."""

    organization_id: str | None = Field(
        default=None, max_length=200, pattern=ID_PATTERN, description="Events of one organization"
    )
    type: str | None = Field(
        default=None, max_length=MAX_TYPE, pattern=TYPE_PATTERN,
        description="An event type (login.failed) or a prefix ending in .* (login.*)",
    )  # fmt: skip


class EventListQuery(EventWhere, ListQuery):
    request_id: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=ID_PATTERN,
        description="The events of one request: the reference a person was shown",
    )  # fmt: skip
    since: AwareDatetime | None = Field(default=None, description="Inclusive")
    until: AwareDatetime | None = Field(default=None, description="Exclusive")


#: An export's page: big enough that a day of a busy tenant is a few requests.
EXPORT_LIMIT = 10_000
EXPORT_DEFAULT_LIMIT = 1_000


class EventExportQuery(EventWhere):
    since: AwareDatetime = Field(description="Inclusive")
    until: AwareDatetime = Field(description="Exclusive; not in the future")
    cursor: str | None = Field(
        default=None, max_length=pagination.MAX_CURSOR_CHARS,
        description="From the previous page's Link header (rel=next)",
    )  # fmt: skip
    limit: Count | None = Field(
        default=None, ge=1, le=EXPORT_LIMIT,
        description=f"events per page; {EXPORT_DEFAULT_LIMIT} unless set, at most {EXPORT_LIMIT}",
    )  # fmt: skip


class EventOut(BaseModel):
    id: str
    at: datetime
    type: str = Field(description="What happened: login.failed, domain.verified, ...")
    reason: str | None = Field(description="A stable machine code for a failure")
    actor: str | None = Field(
        description="management_client:<id>, cli, portal_link:<id>; null for a login"
    )
    organization_id: str | None
    connection_id: str | None
    request_id: str | None = Field(description="The correlation id a person was shown")
    detail: dict[str, Any]


class EventList(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


def event_out(event: AuditEvent) -> EventOut:
    """Every field but `flow_id`: a login's internal handle is no business of the API's."""
    return EventOut(
        id=event.id,
        at=event.at,
        type=event.kind,
        reason=event.reason,
        actor=event.actor,
        organization_id=event.organization_id,
        connection_id=event.connection_id,
        request_id=event.request_id,
        detail=dict(event.detail),
    )


def operations(management: Management) -> list[Operation]:
    events = management.events

    def list_all(call: Call) -> Reply:
        query = call.query
        assert isinstance(query, EventListQuery)
        where = EventFilter(
            organization_id=query.organization_id,
            type=query.type,
            request_id=query.request_id,
            since=query.since,
            until=query.until,
        )
        page = pagination.read_page(
            query.cursor,
            query.limit,
            lambda before, limit: events.page(where, before=before, limit=limit),
            lambda e: (e.at, e.id),
        )
        items = [event_out(e) for e in page.items]
        return Reply(body=EventList(items=items, next_cursor=page.next_cursor))

    def export(call: Call) -> Reply:
        query = call.query
        assert isinstance(query, EventExportQuery)
        where = EventFilter(
            organization_id=query.organization_id,
            type=query.type,
            since=query.since,
            until=query.until,
        )
        size = query.limit or EXPORT_DEFAULT_LIMIT
        found = events.export(where, after=pagination.decode_key(query.cursor), limit=size + 1)
        page = pagination.page(found, size, lambda e: pagination.encode(e.at, e.id))
        headers = {}
        if page.next_cursor is not None:
            following = query.model_dump(mode="json", exclude_none=True)
            following["cursor"] = page.next_cursor
            headers["Link"] = f'</api/v1/events/export?{urlencode(following)}>; rel="next"'
        return Reply(lines=[event_out(e) for e in page.items], headers=headers)

    return [
        Operation(method="GET", path="/events/export", operation_id="exportEvents",
                  summary="The audit log of a time window as NDJSON, oldest first", tag=TAG,
                  scope="events:read", handler=export, query=EventExportQuery,
                  response=EventOut, media_type=NDJSON, errors=(),
                  description="One event per line, in the order they happened, for a SIEM. "
                  "The window (since, until) is required and must be over. A page holds "
                  "`limit` events; when more remain, the `Link` header (rel=next) is the "
                  "next page's URL. Export windows that ended a minute ago or more: a "
                  "transaction still open at `until` may yet record an event inside it."),
        Operation(method="GET", path="/events", operation_id="listEvents",
                  summary="The audit log, newest first", tag=TAG, scope="events:read",
                  handler=list_all, query=EventListQuery, response=EventList, errors=(),
                  description="Pages stay stable while events are recorded: a new event "
                  "sorts before every page already read."),
    ]  # fmt: skip
