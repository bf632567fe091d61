"""`/api/v1/events`: the audit log newest first, filtered by organization, type (exact or a
`.*` prefix) and time range, in keyset pages that neither repeat nor skip an event while
new ones are recorded."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from broker.model.records import AuditEvent
from tests.support.management_api import ApiWorld, Caller
from tests.support.management_checks import assert_scope_refused, organization, pointers

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
FIELDS = {
    "id", "at", "type", "reason", "actor", "organization_id", "connection_id", "request_id",
    "detail",
}  # fmt: skip

# (id, seconds after T0, kind, organization): ties at one instant on purpose.
SEED = [
    ("evt_01", 0, "login.succeeded", "org_a"),
    ("evt_02", 10, "login.failed", "org_a"),
    ("evt_03", 10, "login.succeeded", "org_b"),
    ("evt_04", 10, "loginx.other", "org_a"),
    ("evt_05", 20, "domain.verified", "org_a"),
    ("evt_06", 30, "login.failed", "org_b"),
    ("evt_07", 30, "login.succeeded", "org_a"),
    ("evt_08", 40, "organization.created", None),
    ("evt_09", 50, "login.failed", "org_a"),
    ("evt_10", 60, "login.succeeded", "org_a"),
    ("evt_11", 60, "login.succeeded", "org_a"),
    ("evt_12", 70, "domain.verification_failed", "org_b"),
]


def seed(world: ApiWorld, rows: list[tuple[str, int, str, str | None]] = SEED) -> None:
    with world.store.unit_of_work() as uow:
        for event_id, seconds, kind, org in rows:
            at = T0 + timedelta(seconds=seconds)
            uow.audit.record(AuditEvent(id=event_id, at=at, kind=kind, organization_id=org))


def walk(caller: Caller, limit: int, **params: str) -> list[str]:
    """Every page, following next_cursor."""
    seen: list[str] = []
    query: dict[str, str | int] = {**params, "limit": limit}
    while True:
        response = caller.get("/events", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return seen
        query["cursor"] = page["next_cursor"]


def newest_first(keep: list[tuple[str, int, str, str | None]]) -> list[str]:
    return [row[0] for row in sorted(keep, key=lambda r: (r[1], r[0]), reverse=True)]


def test_api_changes_are_events_with_their_actor(world: ApiWorld) -> None:
    org = organization(world)
    response = world.admin().get("/events")
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    assert set(item) == FIELDS
    assert item["type"] == "organization.created"
    assert item["actor"] == f"management_client:{world.admin().client_id}"
    assert item["organization_id"] == org
    assert item["detail"] == {"name": "Acme"}


def test_a_login_event_shows_its_reason_and_never_its_flow_id(world: ApiWorld) -> None:
    event = AuditEvent(
        id="evt_login", at=T0, kind="login.failed", reason="signature_invalid",
        organization_id="org_a", connection_id="con_a", flow_id="f1a9c0ffee0ddba11",
        request_id="req-42", detail={"detail": "signature does not verify"},
    )  # fmt: skip
    with world.store.unit_of_work() as uow:
        uow.audit.record(event)
    response = world.admin().get("/events")
    assert "flow" not in response.text
    assert "f1a9c0ffee0ddba11" not in response.text
    assert response.json()["items"] == [
        {
            "id": "evt_login",
            "at": "2026-01-01T09:00:00Z",
            "type": "login.failed",
            "reason": "signature_invalid",
            "actor": None,
            "organization_id": "org_a",
            "connection_id": "con_a",
            "request_id": "req-42",
            "detail": {"detail": "signature does not verify"},
        }
    ]


def test_a_reference_finds_the_events_of_one_request(world: ApiWorld) -> None:
    """The reference a person read off an error page (`request_id`), as `gatehouse events
    list --reference` asks it."""
    with world.store.unit_of_work() as uow:
        for event_id, request_id in [("evt_1", "req-1"), ("evt_2", "req-2"), ("evt_3", "req-1")]:
            uow.audit.record(AuditEvent(id=event_id, at=T0, kind="login.failed",
                                        request_id=request_id))  # fmt: skip
    assert walk(world.admin(), 1, request_id="req-1") == ["evt_3", "evt_1"]
    assert walk(world.admin(), 10, request_id="req-9") == []


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({}, lambda s, k, o: True),
        ({"organization_id": "org_a"}, lambda s, k, o: o == "org_a"),
        ({"type": "login.failed"}, lambda s, k, o: k == "login.failed"),
        ({"type": "login.*"}, lambda s, k, o: k.startswith("login.")),
        ({"type": "domain.*"}, lambda s, k, o: k.startswith("domain.")),
        ({"since": at(10), "until": at(60)}, lambda s, k, o: 10 <= s < 60),
        ({"organization_id": "org_a", "type": "login.*", "since": at(10)},
         lambda s, k, o: o == "org_a" and k.startswith("login.") and s >= 10),
        ({"organization_id": "org_c"}, lambda s, k, o: False),
    ],
)  # fmt: skip
@pytest.mark.parametrize("limit", [1, 3, 100])
def test_filters_combine_and_pages_walk_them(
    world: ApiWorld,
    params: dict[str, str],
    keep: Callable[[int, str, str | None], bool],
    limit: int,
) -> None:
    seed(world)
    expected = newest_first([row for row in SEED if keep(row[1], row[2], row[3])])
    assert walk(world.admin(), limit, **params) == expected


def test_pages_are_stable_while_events_are_recorded(world: ApiWorld) -> None:
    """New events sort before every page already read: between any two pages, recording
    more repeats nothing and skips nothing of what was there."""
    seed(world)
    admin = world.admin()
    seen: list[str] = []
    query: dict[str, str | int] = {"limit": 3, "type": "login.*"}
    recorded = 0
    while True:
        page = admin.get("/events", params=query).json()
        seen += [item["id"] for item in page["items"]]
        recorded += 1
        seed(world, [(f"evt_new_{recorded}", 100 + recorded, "login.succeeded", "org_a")])
        if page["next_cursor"] is None:
            break
        query["cursor"] = page["next_cursor"]
    assert seen == newest_first([row for row in SEED if row[2].startswith("login.")])
    newest = admin.get("/events", params={"limit": recorded}).json()["items"]
    assert [item["id"] for item in newest] == [f"evt_new_{i}" for i in range(recorded, 0, -1)]


def test_events_outlive_their_organization(world: ApiWorld) -> None:
    org = organization(world)
    world.clock.advance(timedelta(seconds=1))
    assert world.admin().delete(f"/organizations/{org}").status_code == 204
    items = world.admin().get("/events", params={"organization_id": org}).json()["items"]
    assert [item["type"] for item in items] == ["organization.deleted", "organization.created"]


def test_a_page_is_at_most_100_events(world: ApiWorld) -> None:
    seed(world, [(f"evt_{i:03}", i, "login.succeeded", "org_a") for i in range(101)])
    page = world.admin().get("/events", params={"limit": 1_000_000}).json()
    assert len(page["items"]) == 100
    assert page["next_cursor"] is not None


def cursor_of(json_text: str) -> str:
    """A cursor as the API makes them (base64url of JSON), holding `json_text`."""
    return base64.urlsafe_b64encode(json_text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "login*"}, {"/type"}),
        ({"type": "login.*.*"}, {"/type"}),
        ({"type": "Login.failed"}, {"/type"}),
        ({"type": "*"}, {"/type"}),
        ({"since": "2026-01-01T09:00:00"}, {"/since"}),
        ({"until": "yesterday"}, {"/until"}),
        ({"since": at(10), "until": at(10)}, {"/until"}),
        ({"cursor": "bm90IGEgY3Vyc29y"}, {"/cursor"}),
        ({"limit": "0"}, {"/limit"}),
        ({"limit": "²"}, {"/limit"}),  # ASCII digits only (issue 12)
        ({"limit": "5_0"}, {"/limit"}),  # pydantic read it as 50
        ({"limit": " 5"}, {"/limit"}),
        ({"limit": "9" * 5000}, {"/limit"}),
        ({"cursor": cursor_of("[" * 5000 + "]" * 5000)}, {"/cursor"}),  # RecursionError
        ({"cursor": cursor_of('["2026-01-01T09:00:00+00:00", "evt\\u0000"]')}, {"/cursor"}),
        ({"cursor": cursor_of('["2026-01-01T09:00:00+00:00", "\\ud800"]')}, {"/cursor"}),
        ({"cursor": "x" * 5000}, {"/cursor"}),
        ({"kind": "login.failed", "flow_id": "x"}, {"/kind", "/flow_id"}),
        ({"organization_id": "org\x00"}, {"/organization_id"}),  # PostgreSQL refuses NUL
        ({"request_id": "\x00"}, {"/request_id"}),  # a 500 on PostgreSQL (schemathesis)
        ({"request_id": "req 1"}, {"/request_id"}),  # a reference is printable ASCII
    ],
)
def test_invalid_queries_are_pointed_at(
    world: ApiWorld, params: dict[str, str], expected: set[str]
) -> None:
    assert pointers(world.admin().get("/events", params=params)) == expected


def test_a_repeated_parameter_is_refused(world: ApiWorld) -> None:
    response = world.admin().get(
        "/events", params=httpx.QueryParams([("type", "login.*"), ("type", "domain.*")])
    )
    assert pointers(response) == {"/type"}


def test_reading_events_needs_events_read(world: ApiWorld) -> None:
    seed(world)
    everything_else = world.caller(*[s for s in world.admin().scopes if s != "events:read"])
    assert_scope_refused(everything_else.get("/events"), "events:read")
    assert world.caller("events:read").get("/events").status_code == 200
