"""Concurrent SCIM requests over loopback HTTP, on both backends (PostgreSQL: row locks;
SQLite: one writer at a time): 20 PATCHes adding members to one group lose none, and a
create retried while the first is in flight yields one user."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from broker.model.directories import DirectoryRequest
from broker.store import Store
from tests.support.config import OUT_OF_REACH
from tests.support.scim import GROUP_SCHEMA, ScimWorld, patch_body, scim_world, user_body

RACERS = 20


def _race(world: ScimWorld, work: list[tuple[str, str, dict[str, object]]]) -> list[httpx.Response]:
    """Send every (method, path, body) at once from its own thread and connection."""
    barrier = threading.Barrier(len(work))
    with world.served() as client:
        base, headers = client.base_url, dict(client.headers)

        def send(item: tuple[str, str, dict[str, object]]) -> httpx.Response:
            method, path, body = item
            with httpx.Client(base_url=base, headers=headers, timeout=60) as own:
                barrier.wait()
                return own.request(method, path, json=body)

        with ThreadPoolExecutor(max_workers=len(work)) as pool:
            return list(pool.map(send, work))


def test_concurrent_member_patches_lose_no_member(store: Store, tmp_path: Path) -> None:
    world = scim_world(store, tmp_path, rate_limits=OUT_OF_REACH)
    client = world.client()
    ids = [client.post("Users", json=user_body(f"u{n}")).json()["id"] for n in range(RACERS)]
    group = client.post("Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "All"}).json()
    work = [
        (
            "PATCH",
            f"Groups/{group['id']}",
            patch_body({"op": "add", "path": "members", "value": [{"value": i}]}),
        )
        for i in ids
    ]
    responses = _race(world, work)
    assert [r.status_code for r in responses] == [200] * RACERS, [
        r.text for r in responses if r.status_code != 200
    ]
    with world.store.unit_of_work() as uow:
        assert sorted(uow.directory_groups.members(group["id"])) == sorted(ids)
        assert uow.directory_groups.get(world.directory_id, group["id"]).version == RACERS + 1
    assert len(world.events("directory.group.user_added")) == RACERS


def test_a_create_retried_in_flight_yields_one_user(store: Store, tmp_path: Path) -> None:
    world = scim_world(store, tmp_path, rate_limits=OUT_OF_REACH)
    body = user_body("ann@acme.example", externalId="00u1")
    responses = _race(world, [("POST", "Users", body)] * 4)
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert all(r.json()["scimType"] == "uniqueness" for r in responses if r.status_code == 409)
    assert world.user_count() == 1
    assert len(world.events("directory.user.created")) == 1


def test_concurrent_requests_with_a_full_request_log_all_succeed(
    store: Store, tmp_path: Path
) -> None:
    """Each request trims the directory's log in its own transaction: concurrent trims of
    the same oldest rows must neither deadlock nor fail a request, and the log is back
    within its bound once requests come one at a time again."""
    world = scim_world(store, tmp_path, rate_limits=OUT_OF_REACH)
    with world.store.unit_of_work() as uow:
        size = uow.directories.REQUEST_LOG_SIZE
        for n in range(size):
            uow.directories.log_request(
                DirectoryRequest(
                    id=f"dsr_full{n:04d}",
                    directory_id=world.directory_id,
                    at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
                    method="GET",
                    path="/Users",
                    status=200,
                )
            )
    work: list[tuple[str, str, dict[str, object]]] = [
        ("POST", "Users", user_body(f"full{n}@acme.example")) for n in range(RACERS)
    ]
    responses = _race(world, work)
    assert [r.status_code for r in responses] == [201] * RACERS, [
        r.text for r in responses if r.status_code != 201
    ]
    assert world.client().get("Users", params={"count": "1"}).status_code == 200
    with world.store.unit_of_work() as uow:
        logged = uow.directories.requests(world.directory_id, limit=size + RACERS + 2)
    assert len(logged) == size
    assert sum(1 for entry in logged if entry.status == 201) == RACERS
