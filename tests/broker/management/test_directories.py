"""`/api/v1/directories` through real HTTP calls with real tokens, on SQLite and
PostgreSQL: the SCIM token answered once and never read back (M-05), nor kept for an
idempotent retry; scopes; rotation with an overlap; revocation; the users, groups and
request log a directory's IdP produced."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from broker.store.sql import SqlStore
from tests.support.management_api import ApiWorld
from tests.support.scim import user_body


def _create(world: ApiWorld, **fields: object) -> dict[str, object]:
    org = world.organization()
    response = world.admin().post(
        "/directories", json={"organization_id": org.id, "name": "Okta", **fields}
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def _scim(world: ApiWorld, directory_id: str, token: str) -> TestClient:
    client = TestClient(world.app, base_url=f"{world.settings.issuer}/scim/v2/{directory_id}/")
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_the_token_is_answered_once_and_never_read_back(world: ApiWorld) -> None:
    created = _create(world, link_key="external_id")
    token = str(created["token"])
    assert token.startswith("gh_scim_")
    assert created["link_key"] == "external_id"
    assert str(created["scim_base_url"]).endswith(f"/scim/v2/{created['id']}")
    read = world.admin().get(f"/directories/{created['id']}").json()
    assert "token" not in read
    listed = (
        world.admin()
        .get("/directories", params={"organization_id": created["organization_id"]})
        .json()
    )
    assert [d["id"] for d in listed["items"]] == [created["id"]]
    assert all("token" not in d for d in listed["items"])
    store = world.store
    assert isinstance(store, SqlStore)
    with store.engine.connect() as connection:
        for table in ("directory_tokens", "audit_events", "idempotency_keys"):
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608
            assert token not in repr(rows)


def test_an_idempotent_retry_does_not_replay_the_token(world: ApiWorld) -> None:
    org = world.organization()
    key = {"Idempotency-Key": "dir-1"}
    body = {"organization_id": org.id, "name": "Okta"}
    first = world.admin().post("/directories", json=body, headers=key)
    again = world.admin().post("/directories", json=body, headers=key)
    assert first.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["token"] is None


def test_reads_and_writes_need_their_scopes(world: ApiWorld) -> None:
    org = world.organization()
    reader = world.caller("directories:read", name="reader")
    other = world.caller("webhooks:read", name="other")
    refused = reader.post("/directories", json={"organization_id": org.id, "name": "x"})
    assert refused.status_code == 403
    assert other.get("/directories").status_code == 403
    assert reader.get("/directories").status_code == 200


def test_an_unknown_organization_or_directory_is_404(world: ApiWorld) -> None:
    admin = world.admin()
    assert (
        admin.post("/directories", json={"organization_id": "org_nope", "name": "x"}).status_code
        == 404
    )
    for path in (
        "/directories/dir_nope",
        "/directories/dir_nope/users",
        "/directories/dir_nope/requests",
    ):
        assert admin.get(path).status_code == 404
    assert admin.post("/directories/dir_nope/rotate-token", json={}).status_code == 404


def test_rotation_overlap_revocation_and_what_the_idp_pushed(world: ApiWorld) -> None:
    created = _create(world)
    directory_id, old = str(created["id"]), str(created["token"])
    scim = _scim(world, directory_id, old)
    assert (
        scim.post(
            "Users", json=user_body("ann", emails=[{"value": "ann@acme.example"}])
        ).status_code
        == 201
    )
    rotated = world.admin().post(
        f"/directories/{directory_id}/rotate-token", json={"overlap_seconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["token"]
    assert new != old
    assert rotated.json()["previous_token_expires_at"]
    assert _scim(world, directory_id, old).get("Users").status_code == 200
    assert _scim(world, directory_id, new).get("Users").status_code == 200

    users = world.admin().get(f"/directories/{directory_id}/users").json()
    assert users["total"] == 1
    assert users["items"][0]["email"] == "ann@acme.example"
    assert world.admin().get(f"/directories/{directory_id}/groups").json() == {
        "total": 0,
        "items": [],
    }
    logged = world.admin().get(f"/directories/{directory_id}/requests").json()["items"]
    assert {(r["method"], r["status"]) for r in logged} >= {("POST", 201), ("GET", 200)}

    revoked = world.admin().post(f"/directories/{directory_id}/revoke-tokens", json={})
    assert revoked.json() == {"revoked": 2}
    assert _scim(world, directory_id, new).get("Users").status_code == 401
    assert world.admin().delete(f"/directories/{directory_id}").status_code == 204
    assert world.admin().get(f"/directories/{directory_id}").status_code == 404
