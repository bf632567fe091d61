"""`/api/v1/organizations`, and what every resource shares: problems with JSON Pointers,
mass assignment refused, Idempotency-Key, cursor pages stable under concurrent inserts."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa

from broker.model.records import Connection, Domain
from broker.store.sql import SqlStore
from tests.support.management_api import ApiWorld


def create(world: ApiWorld, name: str, external_id: str | None = None) -> dict[str, object]:
    world.clock.advance(timedelta(seconds=1))  # creation order is time order
    body: dict[str, object] = {"name": name}
    if external_id is not None:
        body["external_id"] = external_id
    response = world.admin().post("/organizations", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_create_read_update_and_read_by_external_id(world: ApiWorld) -> None:
    admin = world.admin()
    org = create(world, "Acme Corp", "acme")
    assert str(org["id"]).startswith("org_")
    assert admin.get(f"/organizations/{org['id']}").json() == org
    assert admin.get("/organizations/by-external-id/acme").json() == org
    renamed = admin.patch(f"/organizations/{org['id']}", json={"name": "  Acme   Inc "})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Acme Inc"
    assert renamed.json()["external_id"] == "acme"  # untouched when not sent
    cleared = admin.patch(f"/organizations/{org['id']}", json={"external_id": None})
    assert cleared.json()["external_id"] is None
    assert admin.get("/organizations/by-external-id/acme").status_code == 404


def test_an_external_id_names_one_organization(world: ApiWorld) -> None:
    create(world, "Acme", "acme")
    other = create(world, "Other")
    taken = world.admin().post("/organizations", json={"name": "Copy", "external_id": "acme"})
    assert taken.status_code == 409
    assert taken.headers["content-type"] == "application/problem+json"
    moved = world.admin().patch(f"/organizations/{other['id']}", json={"external_id": "acme"})
    assert moved.status_code == 409


def test_invalid_input_points_at_each_field(world: ApiWorld) -> None:
    response = world.admin().post("/organizations", json={"name": "", "external_id": 7})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:gatehouse:problem:invalid-input"
    pointers = {e["pointer"] for e in problem["errors"]}
    assert pointers == {"/name", "/external_id"}


def test_server_controlled_fields_cannot_be_assigned(world: ApiWorld) -> None:
    """M-04: `id` and `created_at` in a body are refused, not ignored."""
    response = world.admin().post(
        "/organizations", json={"name": "Acme", "id": "org_mine", "created_at": "2020-01-01"}
    )
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {"/id", "/created_at"}
    assert world.admin().get("/organizations").json()["items"] == []


def test_a_body_must_be_json(world: ApiWorld) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = world.admin().post("/organizations", content=b"name=Acme", headers=form)
    assert response.status_code == 415
    broken = world.admin().post(
        "/organizations", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422


def test_an_unknown_path_is_a_problem_too(world: ApiWorld) -> None:
    response = world.admin().get("/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_same_idempotency_key_replays_the_first_answer(world: ApiWorld) -> None:
    admin = world.admin()
    headers = {"Idempotency-Key": "signup-42"}
    first = admin.post("/organizations", json={"name": "Acme"}, headers=headers)
    again = admin.post("/organizations", json={"name": "Acme"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert len(admin.get("/organizations").json()["items"]) == 1
    different = admin.post("/organizations", json={"name": "Other"}, headers=headers)
    assert different.status_code == 422
    assert "another request" in different.json()["detail"]


def test_an_idempotency_key_is_per_client(world: ApiWorld) -> None:
    headers = {"Idempotency-Key": "same"}
    world.admin().post("/organizations", json={"name": "Acme"}, headers=headers)
    other = world.caller(name="other backend")
    response = other.post("/organizations", json={"name": "Acme"}, headers=headers)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


def test_a_failed_request_does_not_keep_its_idempotency_key(world: ApiWorld) -> None:
    create(world, "Acme", "acme")
    headers = {"Idempotency-Key": "retry-me"}
    failed = world.admin().post("/organizations", json={"name": "B", "external_id": "acme"},
                                headers=headers)  # fmt: skip
    assert failed.status_code == 409
    fixed = world.admin().patch("/organizations/by-external-id/acme", json={})
    assert fixed.status_code == 405  # no such operation; and the key is still free:
    retried = world.admin().post("/organizations", json={"name": "B", "external_id": "acme"},
                                 headers=headers)  # fmt: skip
    assert retried.status_code == 409
    assert "idempotent-replayed" not in retried.headers


def test_pages_follow_the_cursor_and_are_capped(world: ApiWorld) -> None:
    for number in range(5):
        create(world, f"Org {number}")
    admin = world.admin()
    first = admin.get("/organizations", params={"limit": 2}).json()
    assert [o["name"] for o in first["items"]] == ["Org 0", "Org 1"]
    second = admin.get("/organizations", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [o["name"] for o in second.json()["items"]] == ["Org 2", "Org 3"]
    huge = admin.get("/organizations", params={"limit": 1000000})
    assert huge.status_code == 200  # M-07: capped, not obeyed
    assert admin.get("/organizations", params={"cursor": "garbage!"}).status_code == 422
    assert admin.get("/organizations", params={"limit": 0}).status_code == 422


@pytest.mark.parametrize(
    "cursor",
    [
        '["org\\u0000"]',  # PostgreSQL refuses NUL: a 500
        '["\\ud800"]',  # no UTF-8 encoder takes a lone surrogate: a 500
        "[" * 5000 + "]" * 5000,  # RecursionError: a 500
        "[NaN]",
    ],
)
def test_a_cursor_this_api_did_not_make_is_refused(world: ApiWorld, cursor: str) -> None:
    create(world, "Acme")
    encoded = base64.urlsafe_b64encode(cursor.encode()).rstrip(b"=").decode()
    response = world.admin().get("/organizations", params={"cursor": encoded})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/cursor"


def test_pages_do_not_shift_when_organizations_are_added_meanwhile(world: ApiWorld) -> None:
    for number in range(4):
        create(world, f"Org {number}")
    admin = world.admin()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = admin.get("/organizations", params=params).json()
        seen += [o["name"] for o in page["items"]]
        create(world, f"Added after {len(seen)}")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[:4] == ["Org 0", "Org 1", "Org 2", "Org 3"]
    assert len(seen) == len(set(seen))


def test_delete_takes_domains_connections_and_users_with_it(world: ApiWorld) -> None:
    org = create(world, "Acme")
    org_id = str(org["id"])
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        uow.domains.add(Domain(organization_id=org_id, name="acme.test", verified_at=now))
        uow.connections.add(Connection(id="con_acme", organization_id=org_id, kind="test",
                                       name="Acme IdP", config={}, created_at=now))  # fmt: skip
        uow.identities.record_login(organization_id=org_id, connection_id="con_acme",
                                    idp_subject="ann", email="ann@acme.test",
                                    new_id="usr_ann", now=now)  # fmt: skip
    world.clock.advance(timedelta(seconds=1))
    response = world.admin().delete(f"/organizations/{org_id}")
    assert response.status_code == 204
    assert world.admin().get(f"/organizations/{org_id}").status_code == 404
    assert world.admin().delete(f"/organizations/{org_id}").status_code == 404
    assert isinstance(world.store, SqlStore)
    with world.store.engine.connect() as connection:
        for table in ("domains", "connections", "identities"):
            count = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            assert count == 0, table
    with world.store.unit_of_work() as uow:
        kinds = [e.kind for e in uow.audit.list(organization_id=org_id)]
    assert kinds == ["organization.deleted", "organization.created"]  # events outlive it


def test_every_change_is_an_event_with_its_actor(world: ApiWorld) -> None:
    admin = world.admin()
    org = create(world, "Acme")
    world.clock.advance(timedelta(seconds=1))
    admin.patch(f"/organizations/{org['id']}", json={"name": "Acme Inc"})
    with world.store.unit_of_work() as uow:
        events = uow.audit.list(organization_id=str(org["id"]))
    assert [(e.kind, e.actor) for e in events] == [
        ("organization.updated", f"management_client:{admin.client_id}"),
        ("organization.created", f"management_client:{admin.client_id}"),
    ]
    assert events[0].detail["changed"] == ["name"]
