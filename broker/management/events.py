"""Events: the audit log as the app team reads it, newest first, with filters; and exported
oldest first, a closed time window at a time, for a SIEM.

Pages are keyset pages on (at, id) descending, so an event recorded while a caller pages
sorts before everything already read: no page repeats or skips one. An `organization_id`
filter does not require the organization to exist: events outlive what they mention (an
`organization.deleted` event is still worth reading).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from broker.management.deps import ManagementDeps
from broker.management.errors import FieldError, InvalidInput
from broker.model.records import AuditEvent
from broker.store.protocols import EventQuery, PageKey

#: `login.failed`, or a prefix ending in `.*` (`login.*`, `portal_link.*`).
TYPE_PATTERN = r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*(\.\*)?$"
_TYPE = re.compile(TYPE_PATTERN)
MAX_TYPE = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFilter:
    organization_id: str | None = None
    #: One connection's events (the portal's overview of an edit link's connection).
    connection_id: str | None = None
    #: An exact type, or a prefix ending in `.*`.
    type: str | None = None
    #: The events of one request: the reference a person was shown on an error page.
    request_id: str | None = None
    #: Inclusive.
    since: datetime | None = None
    #: Exclusive, so consecutive windows never overlap.
    until: datetime | None = None


class Events:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def page(self, where: EventFilter, *, before: PageKey | None, limit: int) -> list[AuditEvent]:
        query = _query(where, before=before, limit=limit)
        with self._deps.store.unit_of_work() as uow:
            return list(uow.audit.page(query))

    def export(self, where: EventFilter, *, after: PageKey | None, limit: int) -> list[AuditEvent]:
        """Oldest first, from after `after`: a SIEM reads a time range in the order things
        happened, and resumes from the last event it stored. The window must be closed and
        over (`until` not in the future), so an export never chases events still being
        written; a transaction still open at `until` may commit an event dated before it,
        which is why the README advises exporting windows that ended a minute ago."""
        if where.since is None or where.until is None:
            missing = "/since" if where.since is None else "/until"
            raise InvalidInput.at(missing, "an export needs a closed window: since and until")
        if where.until.utcoffset() is not None and where.until > self._deps.clock.now():
            raise InvalidInput.at("/until", "the window must be over: until is in the future")
        query = _query(where, before=after, limit=limit, oldest_first=True)
        with self._deps.store.unit_of_work() as uow:
            return list(uow.audit.page(query))


def _query(
    where: EventFilter, *, before: PageKey | None, limit: int, oldest_first: bool = False
) -> EventQuery:
    errors: list[FieldError] = []
    kind = prefix = None
    if where.type is not None:
        if len(where.type) > MAX_TYPE or not _TYPE.fullmatch(where.type):
            errors.append(FieldError("/type", "an event type (login.failed) or a prefix "
                                     "ending in .* (login.*)"))  # fmt: skip
        elif where.type.endswith(".*"):
            prefix = where.type[:-1]  # keeps the dot: `login.*` never matches `loginx.y`
        else:
            kind = where.type
    for name in ("since", "until"):
        value = getattr(where, name)
        if value is not None and value.utcoffset() is None:
            errors.append(FieldError(f"/{name}", "a time with its offset (2026-01-31T12:00:00Z)"))
    if not errors and where.since and where.until and where.since >= where.until:
        errors.append(FieldError("/until", "must be later than since"))
    if errors:
        raise InvalidInput(errors)
    return EventQuery(
        limit=limit,
        organization_id=where.organization_id,
        connection_id=where.connection_id,
        kind=kind,
        kind_prefix=prefix,
        request_id=where.request_id,
        since=where.since,
        until=where.until,
        before=before,
        oldest_first=oldest_first,
    )
