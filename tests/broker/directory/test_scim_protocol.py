"""The SCIM service's protocol on both backends: users and groups through their life,
ETags, paging, events in the change's transaction, membership changes as deltas, and
what is never stored (a password)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from broker.store import Store
from tests.support.config import OUT_OF_REACH
from tests.support.scim import (
    ENTERPRISE,
    GROUP_SCHEMA,
    USER_SCHEMA,
    ScimWorld,
    patch_body,
    scim_world,
    user_body,
)


@pytest.fixture
def world(store: Store, tmp_path: Path) -> ScimWorld:
    return scim_world(store, tmp_path, rate_limits=OUT_OF_REACH)


def test_a_user_through_its_life(world: ScimWorld) -> None:
    client = world.client()
    body = user_body(
        "Ann@Acme.example",
        externalId="00u1",
        name={"givenName": "Ann", "familyName": "Lee"},
        emails=[{"value": "ann@acme.example", "type": "work", "primary": True}],
        active=True,
        password="never-stored",
        schemas=[USER_SCHEMA, ENTERPRISE],
        **{ENTERPRISE: {"employeeNumber": "42"}},
    )
    created = client.post("Users", json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["location"].endswith(f"/scim/v2/{world.directory_id}/Users/{user['id']}")
    assert created.headers["etag"] == 'W/"1"'
    assert "password" not in user
    assert user[ENTERPRISE]["employeeNumber"] == "42"

    got = client.get(f"Users/{user['id']}")
    assert got.json()["userName"] == "Ann@Acme.example"

    world.gatehouse.clock.advance(timedelta(minutes=1))
    replaced = client.put(f"Users/{user['id']}", json={**body, "displayName": "Ann Lee"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["meta"]["version"] == 'W/"2"'

    world.gatehouse.clock.advance(timedelta(minutes=1))
    patched = client.patch(
        f"Users/{user['id']}", json=patch_body({"op": "replace", "value": {"active": False}})
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False
    world.gatehouse.clock.advance(timedelta(minutes=1))
    assert client.delete(f"Users/{user['id']}").status_code == 204
    assert client.get(f"Users/{user['id']}").status_code == 404
    assert [kind for kind, _ in world.events("directory.user")] == [
        "directory.user.created",
        "directory.user.updated",
        "directory.user.deactivated",
        "directory.user.deleted",
    ]
    with world.store.unit_of_work() as uow:
        assert "never-stored" not in repr(uow.audit.list(limit=100))


def test_a_password_is_never_stored(world: ScimWorld, store: Store) -> None:
    from broker.store.sql.tables_directories import directory_users

    world.client().post("Users", json=user_body("ann", password="hunter2hunter2"))
    engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(select(directory_users.c.resource)).all()
    assert rows
    assert all("password" not in row.resource for row in rows)


def test_etags_refuse_a_stale_write(world: ScimWorld) -> None:
    client = world.client()
    user = client.post("Users", json=user_body("ann")).json()
    change = patch_body({"op": "replace", "path": "displayName", "value": "A"})
    first = client.patch(f"Users/{user['id']}", json=change, headers={"If-Match": 'W/"1"'})
    assert first.status_code == 200
    stale = client.patch(
        f"Users/{user['id']}",
        json=patch_body({"op": "replace", "path": "displayName", "value": "B"}),
        headers={"If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412, stale.text
    assert client.get(f"Users/{user['id']}").json()["displayName"] == "A"
    unmodified = client.get(f"Users/{user['id']}", headers={"If-None-Match": first.headers["etag"]})
    assert unmodified.status_code == 304


def test_paging_is_stable_and_count_zero_counts(world: ScimWorld) -> None:
    client = world.client()
    for n in range(7):
        world.gatehouse.clock.advance(timedelta(seconds=1))
        client.post("Users", json=user_body(f"user{n}"))
    pages = [
        client.get("Users", params={"startIndex": start, "count": 3}).json() for start in (1, 4, 7)
    ]
    names = [r["userName"] for page in pages for r in page["Resources"]]
    assert names == [f"user{n}" for n in range(7)]
    assert [p["totalResults"] for p in pages] == [7, 7, 7]
    assert [p["startIndex"] for p in pages] == [1, 4, 7]
    counted = client.get("Users", params={"count": 0}).json()
    assert counted["totalResults"] == 7
    assert counted.get("Resources", []) == []
    beyond = client.get("Users", params={"startIndex": 50}).json()
    assert beyond["totalResults"] == 7
    assert beyond.get("Resources", []) == []


def test_filters_on_each_supported_attribute(world: ScimWorld) -> None:
    client = world.client()
    ann = client.post(
        "Users",
        json=user_body(
            "Ann", externalId="E1", displayName="Ann Lee",
            emails=[{"value": "Ann@Acme.example", "type": "work"}],
        ),
    ).json()  # fmt: skip
    client.post("Users", json=user_body("bob", active=False))
    group = client.post(
        "Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "Staff", "members": [{"value": ann["id"]}]},
    ).json()

    def users(scim_filter: str) -> list[str]:
        response = client.get("Users", params={"filter": scim_filter})
        assert response.status_code == 200, response.text
        return sorted(r["userName"] for r in response.json()["Resources"])

    assert users('userName eq "ANN"') == ["Ann"]
    assert users('externalId eq "E1"') == ["Ann"]
    assert users('externalId eq "e1"') == []
    assert users('emails eq "ann@acme.example"') == ["Ann"]
    assert users('emails.value sw "ann@"') == ["Ann"]
    assert users('emails[value eq "ann@acme.example"]') == ["Ann"]
    assert users('displayName co "lee"') == ["Ann"]
    assert users("active eq false") == ["bob"]
    assert users('userName sw "a" or active eq false') == ["Ann", "bob"]
    assert users('userName sw "a" and active eq false') == []
    found = client.get("Groups", params={"filter": f'members[value eq "{ann["id"]}"]'}).json()
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    by_name = client.get(
        "Groups", params={"filter": 'displayName eq "staff"', "excludedAttributes": "members"}
    ).json()
    assert by_name["totalResults"] == 1
    assert "members" not in by_name["Resources"][0]


def test_group_members_change_by_deltas(world: ScimWorld, store: Store) -> None:
    client = world.client()
    ids = [client.post("Users", json=user_body(f"u{n}")).json()["id"] for n in range(4)]
    group = client.post(
        "Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "Eng",
            "members": [{"value": i} for i in ids[:2]],
        },
    ).json()
    path = f"Groups/{group['id']}"
    added = client.patch(
        path, json=patch_body({"op": "add", "path": "members", "value": [{"value": ids[2]}]})
    )
    assert added.status_code == 200, added.text
    assert sorted(m["value"] for m in added.json()["members"]) == sorted(ids[:3])
    removed = client.patch(
        path, json=patch_body({"op": "remove", "path": f'members[value eq "{ids[0]}"]'})
    )
    assert sorted(m["value"] for m in removed.json()["members"]) == sorted(ids[1:3])
    renamed = client.patch(
        path, json=patch_body({"op": "replace", "path": "displayName", "value": "Engineering"})
    )
    assert renamed.json()["displayName"] == "Engineering"
    replaced = client.put(
        path,
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "Engineering",
            "members": [{"value": ids[3]}],
        },
    )
    assert [m["value"] for m in replaced.json()["members"]] == [ids[3]]
    kinds = [kind for kind, _ in world.events("directory.group")]
    assert kinds.count("directory.group.user_added") == 4
    assert kinds.count("directory.group.user_removed") == 3
    assert kinds.count("directory.group.updated") == 1
    with world.store.unit_of_work() as uow:
        assert [
            g.display_name for g in uow.directory_groups.of_user(world.directory_id, ids[3])
        ] == ["Engineering"]
    assert client.delete(path).status_code == 204
    assert world.events("directory.group.deleted")


def test_a_deleted_user_leaves_its_groups(world: ScimWorld) -> None:
    client = world.client()
    user_id = client.post("Users", json=user_body("ann")).json()["id"]
    group = client.post(
        "Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": user_id}]},
    ).json()
    client.delete(f"Users/{user_id}")
    assert "members" not in client.get(f"Groups/{group['id']}").json()


def test_the_request_log_shows_each_outcome(world: ScimWorld) -> None:
    client = world.client()
    client.post("Users", json=user_body("ann"))
    client.post("Users", json=user_body("ann"))
    client.get("Users", params={"filter": "title pr"})
    with world.store.unit_of_work() as uow:
        logged = uow.directories.requests(world.directory_id, limit=10)
    outcomes = sorted((r.method, r.status, r.scim_type) for r in logged)
    assert outcomes == [
        ("GET", 400, "invalidFilter"),
        ("POST", 201, None),
        ("POST", 409, "uniqueness"),
    ]


def test_events_are_queued_for_webhooks_with_the_change(world: ScimWorld, store: Store) -> None:
    from broker.store.sql.tables_background import webhook_outbox

    engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        before = len(connection.execute(select(webhook_outbox)).all())
    world.client().post("Users", json=user_body("ann"))
    world.client().post("Users", json=user_body("ann"))  # refused: queues nothing
    with engine.connect() as connection:
        after = len(connection.execute(select(webhook_outbox)).all())
    assert after == before + 1
