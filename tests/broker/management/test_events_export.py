"""`/api/v1/events/export`: a closed, past time window of the audit log as NDJSON, oldest
first, in pages a SIEM follows by the `Link` header without losing or repeating an event
(issue 16 item 5)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx

from tests.broker.management.test_events import SEED, T0, seed
from tests.support.management_api import ApiWorld, Caller
from tests.support.management_checks import assert_scope_refused, pointers

WINDOW = {"since": T0.isoformat(), "until": (T0 + timedelta(minutes=5)).isoformat()}


def lines(response: httpx.Response) -> list[dict[str, object]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.text == "" or response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


def export_all(caller: Caller, **params: str | int) -> tuple[list[str], int]:
    """Every page, following rel=next; the ids and how many requests it took."""
    response = caller.get("/events/export", params=params)
    seen, requests = [], 1
    while True:
        seen += [str(line["id"]) for line in lines(response)]
        link = response.headers.get("link")
        if link is None:
            return seen, requests
        found = re.fullmatch(r'</api/v1(/events/export\?[^>]+)>; rel="next"', link)
        assert found, link
        response = caller.get(found.group(1))
        requests += 1


def oldest_first(keep: list[tuple[str, int, str, str | None]]) -> list[str]:
    return [row[0] for row in sorted(keep, key=lambda r: (r[1], r[0]))]


def test_a_window_is_exported_oldest_first_one_event_per_line(world: ApiWorld) -> None:
    seed(world)
    response = world.admin().get("/events/export", params=WINDOW)
    exported = lines(response)
    assert [line["id"] for line in exported] == oldest_first(SEED)
    assert exported[0] == {
        "id": "evt_01", "at": "2026-01-01T09:00:00Z", "type": "login.succeeded",
        "reason": None, "actor": None, "organization_id": "org_a", "connection_id": None,
        "request_id": None, "detail": {},
    }  # fmt: skip
    assert "link" not in response.headers
    assert response.headers["cache-control"] == "no-store"


def test_pages_follow_the_link_and_neither_repeat_nor_skip(world: ApiWorld) -> None:
    seed(world)
    ids, requests = export_all(world.admin(), **WINDOW, limit=5)
    assert ids == oldest_first(SEED)
    assert requests == 3


def test_filters_and_the_window_bounds_hold(world: ApiWorld) -> None:
    seed(world)
    window = {"since": (T0 + timedelta(seconds=10)).isoformat(),
              "until": (T0 + timedelta(seconds=60)).isoformat()}  # fmt: skip
    ids, _ = export_all(world.admin(), **window, organization_id="org_a", type="login.*", limit=2)
    assert ids == ["evt_02", "evt_07", "evt_09"]


def test_an_open_or_future_window_is_refused(world: ApiWorld) -> None:
    admin = world.admin()
    assert pointers(admin.get("/events/export", params={"since": WINDOW["since"]})) == {"/until"}
    future = (world.clock.now() + timedelta(seconds=1)).isoformat()
    response = admin.get("/events/export", params={**WINDOW, "until": future})
    assert pointers(response) == {"/until"}
    backwards = {"since": WINDOW["until"], "until": WINDOW["since"]}
    assert pointers(admin.get("/events/export", params=backwards)) == {"/until"}
    too_many = {**WINDOW, "limit": 10_001}
    assert pointers(admin.get("/events/export", params=too_many)) == {"/limit"}
    forged = {**WINDOW, "cursor": "not-a-cursor"}
    assert pointers(admin.get("/events/export", params=forged)) == {"/cursor"}


def test_export_needs_the_events_scope(world: ApiWorld) -> None:
    response = world.caller("organizations:read").get("/events/export", params=WINDOW)
    assert_scope_refused(response, "events:read")


def test_the_openapi_document_says_ndjson(world: ApiWorld) -> None:
    document = world.http.get("/api/v1/openapi.json").json()
    success = document["paths"]["/events/export"]["get"]["responses"]["200"]
    assert set(success["content"]) == {"application/x-ndjson"}
