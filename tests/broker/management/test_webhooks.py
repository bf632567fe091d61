"""`/api/v1/webhook-endpoints` through real HTTP calls with real tokens: the secret shown
once, scopes, the URL guard, event type patterns, rotation, deliveries with their attempts,
resend; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from broker.store.sql import SqlStore
from tests.support.management_api import ApiWorld
from tests.support.webhook_receiver import webhook_receiver
from tests.support.webhooks import worker

LOCAL = "http://127.0.0.1:9/hooks"


def _create(world: ApiWorld, **fields: object) -> dict[str, object]:
    body = {"url": LOCAL, "event_types": ["*"], **fields}
    response = world.admin().post("/webhook-endpoints", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_the_secret_is_answered_once_and_never_read_back(world: ApiWorld) -> None:
    created = _create(world, event_types=["connection.*", "login.succeeded"])
    assert str(created["secret"]).startswith("whsec_")
    read = world.admin().get(f"/webhook-endpoints/{created['id']}").json()
    assert "secret" not in read
    assert read["event_types"] == ["connection.*", "login.succeeded"]
    listed = world.admin().get("/webhook-endpoints").json()
    assert [e["id"] for e in listed["items"]] == [created["id"]]
    assert all("secret" not in e for e in listed["items"])


def test_the_secret_is_stored_encrypted_and_a_retry_replays_it(world: ApiWorld) -> None:
    admin = world.admin()
    key = {"Idempotency-Key": "create-1"}
    body = {"url": LOCAL, "event_types": ["*"]}
    first = admin.post("/webhook-endpoints", json=body, headers=key)
    again = admin.post("/webhook-endpoints", json=body, headers=key)
    assert again.json() == first.json()
    secret = first.json()["secret"]
    store = world.store
    assert isinstance(store, SqlStore)
    with store.engine.connect() as connection:
        for table in ("webhook_endpoints", "idempotency_keys"):
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608
            assert secret.encode() not in repr(rows).encode()
            assert secret[6:] not in repr(rows)


def test_reads_and_writes_need_their_scopes(world: ApiWorld) -> None:
    reader = world.caller("webhooks:read", name="reader")
    other = world.caller("events:read", name="other")
    refused = reader.post("/webhook-endpoints", json={"url": LOCAL, "event_types": ["*"]})
    assert refused.status_code == 403
    assert other.get("/webhook-endpoints").status_code == 403
    assert reader.get("/webhook-endpoints").status_code == 200


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/in", "https"),  # http only to loopback
        ("https://10.0.0.7/in", "public"),  # the outbound guard: a private address
        ("https://169.254.169.254/latest", "public"),  # cloud metadata
        ("https://user:pw@hooks.example.com/in", "credentials"),
        ("ftp://hooks.example.com/in", "https"),
        ("https://hooks.example.com/in#x", "fragment"),
    ],
)
def test_urls_the_guard_refuses(world: ApiWorld, url: str, why: str) -> None:
    response = world.admin().post("/webhook-endpoints", json={"url": url, "event_types": ["*"]})
    assert response.status_code == 422, response.text
    assert why in response.text


@pytest.mark.parametrize(
    "event_types", [[], ["idp.*"], ["connection"], ["Connection.*"], ["login.*.x"], ["*"] * 51]
)
def test_event_types_outside_the_catalogue_are_refused(
    world: ApiWorld, event_types: list[str]
) -> None:
    body = {"url": LOCAL, "event_types": event_types}
    assert world.admin().post("/webhook-endpoints", json=body).status_code == 422


def test_an_unknown_organization_filter_is_not_found(world: ApiWorld) -> None:
    body = {"url": LOCAL, "event_types": ["*"], "organization_id": "org_nope"}
    assert world.admin().post("/webhook-endpoints", json=body).status_code == 404


def test_update_rotate_revoke_and_delete(world: ApiWorld) -> None:
    admin = world.admin()
    created = _create(world)
    path = f"/webhook-endpoints/{created['id']}"
    org = world.organization("Acme")
    changed = admin.patch(path, json={"enabled": False, "organization_id": org.id})
    assert changed.status_code == 200
    assert (changed.json()["enabled"], changed.json()["organization_id"]) == (False, org.id)
    cleared = admin.patch(path, json={"organization_id": ""}).json()
    assert cleared["organization_id"] is None
    rotated = admin.post(path + "/rotate-secret", json={"overlap_seconds": 3600}).json()
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    revoked = admin.post(path + "/revoke-previous-secret").json()
    assert revoked["previous_secret_expires_at"] is None
    assert admin.post(path + "/rotate-secret", json={"overlap_seconds": 10**7}).status_code == 422
    assert admin.delete(path).status_code == 204
    assert admin.get(path).status_code == 404


def test_deliveries_attempts_and_resend_through_the_api(world: ApiWorld) -> None:
    admin = world.admin()
    with webhook_receiver() as receiver:
        receiver.behaviour = "error"
        created = _create(world, url=receiver.url, event_types=["organization.*"])
        world.organization("Acme")
        path = f"/webhook-endpoints/{created['id']}"
        with worker(world) as run:
            run.run()
            [delivery] = admin.get(path + "/deliveries").json()["items"]
            assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
            detail = admin.get(f"{path}/deliveries/{delivery['id']}").json()
            [attempt] = detail["attempt_log"]
            assert attempt["status_code"] == 500
            assert attempt["error"] == "status"
            assert attempt["response_excerpt"].startswith("receiver exploded")
            receiver.behaviour = "ok"
            resent = admin.post(path + "/resend", json={"event_id": delivery["event_id"]})
            assert resent.status_code == 202
            run.run()
        assert receiver.delivered_ids() == [delivery["event_id"]]
    assert admin.post(path + "/resend", json={"event_id": "evt_nope"}).status_code == 404
    other = _create(world, url=LOCAL)
    assert (
        admin.get(f"/webhook-endpoints/{other['id']}/deliveries/{delivery['id']}").status_code
        == 404
    )


def test_a_filtered_endpoint_cannot_resend_another_organizations_event(world: ApiWorld) -> None:
    admin = world.admin()
    acme, other = world.organization("Acme"), world.organization("Other")
    created = _create(world, organization_id=acme.id)
    with world.store.unit_of_work() as uow:
        [event] = uow.audit.list(organization_id=other.id, kind="organization.created")
    response = admin.post(f"/webhook-endpoints/{created['id']}/resend", json={"event_id": event.id})
    assert response.status_code == 404
