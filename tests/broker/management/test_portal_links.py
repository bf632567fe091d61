"""`/api/v1/organizations/{id}/portal-links` and `PortalLinks.redeem` (docs/security.md:
T-01 256-bit token stored hashed, T-02 ≤ 24 h, T-03 counted uses, T-04 one organization and
its features, T-06 revocation)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from broker.management.errors import ManagementError, ResourceNotFound
from broker.model.management import PortalLink
from broker.model.opaque import hash_secret
from broker.model.portal import PortalSession
from broker.model.records import Connection
from tests.support.management_api import ApiWorld
from tests.support.management_checks import (
    assert_same_not_found,
    assert_scope_refused,
    database_text,
    management,
    organization,
    pointers,
)

PORTAL = "https://gatehouse.test/portal/link/"


def links(org: str) -> str:
    return f"/organizations/{org}/portal-links"


def add_connection(world: ApiWorld, org: str, connection_id: str) -> str:
    with world.store.unit_of_work() as uow:
        uow.connections.add(
            Connection(
                id=connection_id,
                organization_id=org,
                kind="saml",
                name="IdP",
                config={},
                created_at=world.clock.now(),
            )
        )
    return connection_id


def create(world: ApiWorld, org: str, **body: object) -> dict[str, object]:
    response = world.admin().post(links(org), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def token_of(created: dict[str, object]) -> str:
    url = str(created["url"])
    assert url.startswith(PORTAL), url
    return url.removeprefix(PORTAL)


def listed(world: ApiWorld, org: str) -> list[dict[str, object]]:
    response = world.admin().get(links(org))
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_a_link_is_created_with_safe_defaults_and_its_url_once(world: ApiWorld) -> None:
    org = organization(world)
    now = world.clock.now()
    created = create(world, org)
    token = token_of(created)
    assert len(token) >= 43  # 256 bits, base64url (T-01)
    assert str(created["id"]).startswith("pl_")
    assert datetime.fromisoformat(str(created["expires_at"])) == now + timedelta(hours=24)
    assert created["max_uses"] == 5
    assert created["uses"] == 0
    assert created["enabled_features"] == ["sso", "domain_verification"]
    assert created["status"] == "active"
    assert created["profile_id"] is None
    assert created["connection_id"] is None
    assert created["revoked_at"] is None
    assert created["created_by"] == f"management_client:{world.admin().client_id}"
    [item] = listed(world, org)
    assert item == {k: v for k, v in created.items() if k != "url"}
    with world.store.unit_of_work() as uow:
        [event] = uow.audit.list(kind="portal_link.created")
    assert event.organization_id == org
    assert event.detail["link_id"] == created["id"]


def test_the_token_is_nowhere_but_in_the_create_answer(world: ApiWorld, engine: Engine) -> None:
    """Not in the list, not in events, not in the database in clear (T-01, M-05), also when
    the create is made with an Idempotency-Key whose answer is kept for a retry."""
    org = organization(world)
    plain = token_of(create(world, org))
    keyed = world.admin().post(links(org), json={}, headers={"Idempotency-Key": "link-1"})
    assert keyed.status_code == 201
    tokens = [plain, token_of(keyed.json())]
    texts = [world.admin().get(links(org)).text, world.admin().get("/events").text]
    stored = database_text(engine)
    assert hash_secret(plain) in stored  # the scan sees the rows
    for token in tokens:
        assert all(token not in text for text in texts)
        assert token not in stored


def test_a_retry_with_the_same_key_answers_the_same_link(world: ApiWorld) -> None:
    org = organization(world)
    headers = {"Idempotency-Key": "retry-me"}
    first = world.admin().post(links(org), json={"max_uses": 2}, headers=headers)
    again = world.admin().post(links(org), json={"max_uses": 2}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len(listed(world, org)) == 1
    other = world.admin().post(links(org), json={"max_uses": 3}, headers=headers)
    assert other.status_code == 422


def test_an_edit_link_names_a_connection_of_the_organization(world: ApiWorld) -> None:
    org, other = organization(world, "Acme"), organization(world, "Other")
    own = add_connection(world, org, "con_own")
    foreign = add_connection(world, other, "con_foreign")
    created = create(world, org, connection_id=own, enabled_features=["sso"], ttl_sec=3600)
    assert created["connection_id"] == own
    assert created["enabled_features"] == ["sso"]
    to_foreign = world.admin().post(links(org), json={"connection_id": foreign})
    assert world.admin().delete(f"/organizations/{other}").status_code == 204
    to_absent = world.admin().post(links(org), json={"connection_id": foreign})
    assert_same_not_found(to_foreign, to_absent)
    assert [item["connection_id"] for item in listed(world, org)] == [own]


def test_a_profile_must_exist(world: ApiWorld) -> None:
    org = organization(world)
    profile = world.admin().post("/profiles", json={"name": "Enterprise"}).json()
    assert create(world, org, profile_id=profile["id"])["profile_id"] == profile["id"]
    missing = world.admin().post(links(org), json={"profile_id": "ssp_absent"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"ttl_sec": 7 * 86_400}, {"/ttl_sec"}),
        ({"ttl_sec": 0}, {"/ttl_sec"}),
        ({"ttl_sec": "3600"}, {"/ttl_sec"}),
        ({"max_uses": 0, "enabled_features": []}, {"/max_uses", "/enabled_features"}),
        ({"max_uses": 21}, {"/max_uses"}),
        ({"enabled_features": ["sso", "scim"]}, {"/enabled_features/1"}),
        ({"connection_id": "con_x", "enabled_features": ["domain_verification"]},
         {"/connection_id"}),
        ({"uses": 0, "token_hash": "x", "expires_at": "2030-01-01T00:00:00Z"},
         {"/uses", "/token_hash", "/expires_at"}),
        ({"profile_id": "ssp\x00", "connection_id": ""}, {"/profile_id", "/connection_id"}),
        ({"organization_id": "org_other", "url": "https://evil.test"},
         {"/organization_id", "/url"}),
    ],
)  # fmt: skip
def test_invalid_or_server_controlled_fields_are_refused(
    world: ApiWorld, body: dict[str, object], expected: set[str]
) -> None:
    org = organization(world)
    assert pointers(world.admin().post(links(org), json=body)) == expected
    assert listed(world, org) == []


def test_revocation_is_idempotent_and_recorded_once(world: ApiWorld) -> None:
    org = organization(world)
    created = create(world, org)
    world.clock.advance(timedelta(minutes=1))
    revoked_at = world.clock.now()
    path = f"{links(org)}/{created['id']}"
    assert world.admin().delete(path).status_code == 204
    world.clock.advance(timedelta(minutes=1))
    assert world.admin().delete(path).status_code == 204
    [item] = listed(world, org)
    assert item["status"] == "revoked"
    assert datetime.fromisoformat(str(item["revoked_at"])) == revoked_at
    with world.store.unit_of_work() as uow:
        assert len(uow.audit.list(kind="portal_link.revoked")) == 1
    with pytest.raises(ResourceNotFound):
        management(world).portal_links.redeem(token_of(created))


def test_another_organizations_link_is_not_found_like_an_absent_one(world: ApiWorld) -> None:
    """The same request while the link is another organization's and once it is gone."""
    org, other = organization(world, "Acme"), organization(world, "Other")
    theirs = create(world, other)
    path = f"{links(org)}/{theirs['id']}"
    foreign = world.admin().delete(path)
    assert listed(world, other)[0]["status"] == "active"
    assert listed(world, org) == []
    assert world.admin().delete(f"/organizations/{other}").status_code == 204
    assert_same_not_found(foreign, world.admin().delete(path))
    for response in (
        world.admin().get(links(other)),
        world.admin().post(links(other), json={}),
        world.admin().delete(f"{links(other)}/{theirs['id']}"),
    ):
        assert response.status_code == 404


def test_status_says_what_became_of_each_link(world: ApiWorld) -> None:
    org = organization(world)
    short = create(world, org, ttl_sec=300)
    single = create(world, org, max_uses=1)
    live = create(world, org)
    management(world).portal_links.redeem(token_of(single))
    world.clock.advance(timedelta(seconds=300))
    world.admin().token = ""  # outlived too
    statuses = {item["id"]: (item["status"], item["uses"]) for item in listed(world, org)}
    assert statuses == {
        short["id"]: ("expired", 0),
        single["id"]: ("used_up", 1),
        live["id"]: ("active", 0),
    }


def test_list_pages_are_keyset_pages(world: ApiWorld) -> None:
    org = organization(world)
    made = []
    for _ in range(3):
        world.clock.advance(timedelta(seconds=1))
        made.append(create(world, org)["id"])
    first = world.admin().get(links(org), params={"limit": 2}).json()
    world.clock.advance(timedelta(seconds=1))
    made.append(create(world, org)["id"])
    rest = world.admin().get(links(org), params={"cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == made
    assert rest["next_cursor"] is None


def test_redeem_counts_uses_and_refuses_every_dead_link_alike(world: ApiWorld) -> None:
    org = organization(world)
    portal = management(world).portal_links
    token = token_of(create(world, org, max_uses=2, ttl_sec=600))
    assert portal.redeem(token).uses == 1
    used = portal.redeem(token)
    assert (used.uses, used.organization_id) == (2, org)
    expiring = token_of(create(world, org, ttl_sec=300))
    world.clock.advance(timedelta(seconds=300))
    answers = []
    for dead in (token, expiring, "not-a-token", "", "x" * 10_000):
        with pytest.raises(ResourceNotFound) as refused:
            portal.redeem(dead)
        answers.append(str(refused.value))
    assert set(answers) == {"portal link"}
    with world.store.unit_of_work() as uow:
        redeemed = uow.audit.list(kind="portal_link.redeemed")
    assert sorted((e.actor, e.detail["use"]) for e in redeemed) == [
        (f"portal_link:{used.id}", 1),
        (f"portal_link:{used.id}", 2),
    ]


def test_a_use_is_spent_only_with_the_session_it_opens(world: ApiWorld) -> None:
    """The use, its event and the portal session commit together: a session that cannot be
    stored leaves the link's use unspent (and no event says it was redeemed)."""
    org = organization(world)
    portal = management(world).portal_links
    token = token_of(create(world, org, max_uses=1, ttl_sec=600))

    def no_session(link: PortalLink) -> PortalSession:
        raise RuntimeError("the session could not be made")

    with pytest.raises(RuntimeError):
        portal.redeem(token, open_session=no_session)
    with world.store.unit_of_work() as uow:
        assert uow.audit.list(kind="portal_link.redeemed") == []
    assert portal.redeem(token).uses == 1  # the one use is still there


def test_of_concurrent_redemptions_of_the_last_use_one_wins(world: ApiWorld) -> None:
    org = organization(world)
    portal = management(world).portal_links
    token = token_of(create(world, org, max_uses=2))
    portal.redeem(token)
    contenders = 8
    barrier = threading.Barrier(contenders)

    def contend(_: int) -> str:
        barrier.wait(timeout=30)
        try:
            return f"won {portal.redeem(token).uses}"
        except ManagementError as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=contenders) as pool:
        outcomes = sorted(pool.map(contend, range(contenders)))
    assert outcomes == sorted(["won 2"] + ["ResourceNotFound"] * (contenders - 1))
    assert listed(world, org)[0]["uses"] == 2


def test_every_operation_needs_portal_links_write(world: ApiWorld) -> None:
    org = organization(world)
    created = create(world, org)
    everything_else = world.caller(*[s for s in world.admin().scopes if s != "portal_links:write"])
    for response in (
        everything_else.post(links(org), json={}),
        everything_else.get(links(org)),
        everything_else.delete(f"{links(org)}/{created['id']}"),
    ):
        assert_scope_refused(response, "portal_links:write")
    assert listed(world, org)[0]["status"] == "active"


def test_directory_sync_is_granted_only_when_named(world: ApiWorld) -> None:
    """A link that can issue a SCIM token is asked for by name: the default grants no more
    than before the feature existed."""
    org = organization(world)
    assert create(world, org)["enabled_features"] == ["sso", "domain_verification"]
    named = create(world, org, enabled_features=["directory_sync"])
    assert named["enabled_features"] == ["directory_sync"]
    document = world.http.get("/api/v1/openapi.json").text
    assert '"directory_sync"' in document
