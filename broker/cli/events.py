"""The audit log at the command line: `events list` reads it, `events follow` keeps reading
it as events are recorded (what `tail -f` is to a log file), `events export` writes a
closed window as NDJSON for a SIEM; through the same use cases and with the same fields as
the management API's `/events` and `/events/export`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from broker.cli.api_json import api_json
from broker.cli.root import cli, emit, management, unit_of_work
from broker.management import Management
from broker.management.api.events import event_out
from broker.management.events import EventFilter, Events
from broker.model.records import AuditEvent
from broker.store import NotFound

MAX_LIMIT = 1000
#: How far back each poll of `follow` looks before the newest event it printed: events are
#: stamped by the instance that records them, and one whose clock is a little behind (or
#: whose transaction commits late) lands just before it. Ids seen within it are not shown
#: again.
FOLLOW_OVERLAP = timedelta(seconds=10)
_PAGE = 200
_EXPORT_PAGE = 1000
#: ISO 8601 as `--since`/`--until` take it, with or without seconds and an offset.
_TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M%z",
                 "%Y-%m-%dT%H:%M", "%Y-%m-%d"]  # fmt: skip


def filter_options(command: Callable[..., None]) -> Callable[..., None]:
    """The filters `list` and `follow` share, so the two cannot come to differ."""
    for option in reversed(
        [
            click.option("--type", "event_type", default=None,
                         help="A type (login.failed) or a prefix ending in .* (login.*)."),
            click.option("--org", "org_ref", default=None,
                         help="Organization id or external id (a deleted one's id works)."),
            click.option("--reference", "request_id", default=None,
                         help="The reference (request id) a person was shown."),
        ]
    ):  # fmt: skip
        command = option(command)
    return command


def _filter(event_type: str | None, org_ref: str | None, request_id: str | None) -> EventFilter:
    return EventFilter(
        type=event_type,
        organization_id=_organization_id(org_ref) if org_ref else None,
        request_id=request_id,
    )


def _organization_id(ref: str) -> str:
    """An organization's id, or the id of the one whose external id `ref` is; anything else
    is taken as an id as it stands: events outlive the organizations they name."""
    with unit_of_work() as uow:
        try:
            return uow.organizations.get(ref).id
        except NotFound:
            pass
        try:
            return uow.organizations.get_by_external_id(ref).id
        except NotFound:
            return ref


def _line(event: AuditEvent) -> str:
    parts = [
        event.at.isoformat(),
        event.kind,
        event.reason or "-",
        event.organization_id or "-",
        event.connection_id or "-",
        f"ref={event.request_id}" if event.request_id else "",
        f"by={event.actor}" if event.actor else "",
    ]
    return "  ".join(part for part in parts if part)


def _json(event: AuditEvent) -> dict[str, Any]:
    return api_json(event_out(event))


@cli.group()
def events() -> None:
    """The audit log: logins, refusals and every change, newest first."""


@events.command("list")
@filter_options
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def events_list(
    event_type: str | None, org_ref: str | None, request_id: str | None, limit: int,
    as_json: bool,
) -> None:  # fmt: skip
    """The newest events, newest first."""
    where = _filter(event_type, org_ref, request_id)
    with management() as use_cases:
        found = use_cases.events.page(where, before=None, limit=limit)
    emit(
        as_json,
        {"items": [_json(e) for e in found]},
        [_line(e) for e in found] or ["no events"],
    )


@events.command("follow")
@filter_options
@click.option(
    "--limit",
    type=click.IntRange(0, MAX_LIMIT),
    default=10,
    show_default=True,
    help="How many recent events to show first.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 3600),
    default=2.0,
    show_default=True,
    help="Seconds between two reads.",
)
@click.option(
    "--max-events",
    type=click.IntRange(1),
    default=None,
    help="Stop after printing this many events.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Stop after this many seconds.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def events_follow(
    event_type: str | None, org_ref: str | None, request_id: str | None, limit: int,
    interval: float, max_events: int | None, timeout: float | None, as_json: bool,
) -> None:  # fmt: skip
    """Print events as they are recorded, oldest first, until interrupted (Ctrl-C), or
    until --max-events or --timeout."""
    where = _filter(event_type, org_ref, request_id)
    stop_at = time.monotonic() + timeout if timeout is not None else None
    printed = 0
    with management() as use_cases:
        try:
            for event in _follow(use_cases, where, limit, interval, stop_at):
                click.echo(json.dumps(_json(event)) if as_json else _line(event))
                printed += 1
                if max_events is not None and printed >= max_events:
                    return
        except KeyboardInterrupt:
            return


def _follow(
    use_cases: Management, where: EventFilter, backlog: int, interval: float,
    stop_at: float | None,
) -> Iterator[AuditEvent]:  # fmt: skip
    """The last `backlog` events, then each new one once, oldest first, polling every
    `interval` seconds until `stop_at` (monotonic).

    What the overlap window holds when following starts is there already: read before the
    backlog, so an event recorded between the two reads is in the backlog (printed), and
    one recorded after both is new (printed by the next poll)."""
    events = use_cases.events
    newest = use_cases.deps.clock.now()
    there = _window(events, where, newest - FOLLOW_OVERLAP)
    recent = list(events.page(where, before=None, limit=backlog)) if backlog else []
    seen = {e.id: e.at for e in there + recent}
    newest = max([newest, *seen.values()])
    yield from reversed(recent)
    while stop_at is None or time.monotonic() < stop_at:
        left = interval if stop_at is None else stop_at - time.monotonic()
        time.sleep(max(0.0, min(interval, left)))
        fresh = [e for e in _window(events, where, newest - FOLLOW_OVERLAP) if e.id not in seen]
        for event in sorted(fresh, key=lambda e: (e.at, e.id)):
            seen[event.id] = event.at
            newest = max(newest, event.at)
            yield event
        cutoff = newest - FOLLOW_OVERLAP
        seen = {i: at for i, at in seen.items() if at >= cutoff}


def _window(events: Events, where: EventFilter, since: datetime) -> list[AuditEvent]:
    """Every event `where` selects from `since` on, newest first."""
    window = EventFilter(type=where.type, organization_id=where.organization_id,
                         request_id=where.request_id, since=since)  # fmt: skip
    found: list[AuditEvent] = []
    while True:
        before = (found[-1].at, found[-1].id) if found else None
        page = events.page(window, before=before, limit=_PAGE)
        found += page
        if len(page) < _PAGE:
            return found


@events.command("export")
@click.option(
    "--since",
    type=click.DateTime(_TIME_FORMATS),
    required=True,
    help="Start of the window, inclusive (UTC unless an offset is given).",
)
@click.option(
    "--until",
    type=click.DateTime(_TIME_FORMATS),
    required=True,
    help="End of the window, exclusive; not in the future.",
)
@click.option(
    "--type",
    "event_type",
    default=None,
    help="A type (login.failed) or a prefix ending in .* (login.*).",
)
@click.option(
    "--org",
    "org_ref",
    default=None,
    help="Organization id or external id (a deleted one's id works).",
)
def events_export(
    since: datetime, until: datetime, event_type: str | None, org_ref: str | None
) -> None:  # fmt: skip
    """A closed window of the audit log as NDJSON on stdout, oldest first, one API event
    object per line (the management API's /events/export), for a SIEM."""
    where = replace(_filter(event_type, org_ref, None), since=_aware(since), until=_aware(until))
    with management() as use_cases:
        after = None
        while True:
            page = use_cases.events.export(where, after=after, limit=_EXPORT_PAGE)
            for event in page:
                click.echo(json.dumps(_json(event)))
            if len(page) < _EXPORT_PAGE:
                return
            after = (page[-1].at, page[-1].id)


def _aware(moment: datetime) -> datetime:
    """A time given without an offset is UTC, as every time Gatehouse stores."""
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
