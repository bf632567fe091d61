"""The store's contract for the management side (broker/store/protocols_management.py), run
on every backend: management clients, self-service profiles, portal links, idempotency keys
and rate-limit counters (races are in test_store_management_concurrency.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from broker.model.management import (
    Branding,
    ManagementClient,
    SelfServiceProfile,
    StoredResponse,
    UserAttribute,
)
from broker.store import AlreadyExists, NotFound, Store
from broker.store.protocols_management import MAX_WINDOW
from tests.broker.store.test_store_tenancy import connection, organization, portal_link

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
SECOND = timedelta(seconds=1)
TICK = timedelta(microseconds=1)
TTL = timedelta(hours=24)


def client(client_id: str = "mc_1", *, at: datetime = NOW) -> ManagementClient:
    return ManagementClient(
        client_id=client_id,
        name=f"Backend {client_id}",
        secret_hash="s" * 64,
        scopes=("organizations:read", "organizations:write"),
        created_at=at,
    )


def profile(profile_id: str = "ssp_1", *, at: datetime = NOW) -> SelfServiceProfile:
    return SelfServiceProfile(
        id=profile_id,
        name=f"Profile {profile_id}",
        description="For enterprise customers",
        allowed_strategies=("okta", "entra"),
        user_attributes=(
            UserAttribute(name="email", description="Work email"),
            UserAttribute(name="groups", required=False),
        ),
        branding=Branding(logo_url="https://app.test/logo.png", primary_color="#123abc"),
        introduction="Connect your IdP",
        created_at=at,
        updated_at=at,
    )


def seed_tenant(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a"))
        uow.organizations.add(organization("org_b"))
        uow.connections.add(connection("con_a"))
        uow.connections.add(connection("con_b", "org_b"))


# --- management clients --------------------------------------------------------------------


def test_management_client_round_trip_list_and_duplicate(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.management_clients.add(client("mc_2", at=NOW + SECOND))
        uow.management_clients.add(client("mc_1"))
        with pytest.raises(AlreadyExists):
            uow.management_clients.add(client("mc_1"))
        uow.management_clients.add(client("mc_3", at=NOW + 2 * SECOND))  # still usable
    with store.unit_of_work() as uow:
        assert uow.management_clients.get("mc_1") == client("mc_1")
        assert [c.client_id for c in uow.management_clients.list()] == ["mc_1", "mc_2", "mc_3"]
        with pytest.raises(NotFound):
            uow.management_clients.get("mc_x")


def test_management_client_revocation_is_idempotent_and_keeps_the_client(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.management_clients.add(client())
    with store.unit_of_work() as uow:
        uow.management_clients.revoke("mc_1", now=NOW + SECOND)
        uow.management_clients.revoke("mc_1", now=NOW + 2 * SECOND)
        with pytest.raises(NotFound):
            uow.management_clients.revoke("mc_x", now=NOW)
    with store.unit_of_work() as uow:
        assert uow.management_clients.get("mc_1") == replace(client(), revoked_at=NOW + SECOND)


def test_management_client_save_stores_the_secrets_and_the_disabled_time(store: Store) -> None:
    """Not the revocation time: that has its own, idempotent, path."""
    changed = replace(client(), secret_hash="h2", previous_secret_hash="h1", disabled_at=NOW)
    with store.unit_of_work() as uow:
        uow.management_clients.add(client())
    with store.unit_of_work() as uow:
        uow.management_clients.save(replace(changed, revoked_at=NOW))
        with pytest.raises(NotFound):
            uow.management_clients.save(replace(changed, client_id="mc_x"))
    with store.unit_of_work() as uow:
        assert uow.management_clients.get("mc_1") == changed


# --- self-service profiles -----------------------------------------------------------------


def test_profile_round_trip_maps_attributes_and_branding(store: Store) -> None:
    plain = SelfServiceProfile(id="ssp_plain", name="Plain", created_at=NOW, updated_at=NOW)
    with store.unit_of_work() as uow:
        uow.profiles.add(profile())
        uow.profiles.add(plain)
        with pytest.raises(AlreadyExists):
            uow.profiles.add(profile())
    with store.unit_of_work() as uow:
        assert uow.profiles.get("ssp_1") == profile()
        assert uow.profiles.get("ssp_plain") == plain  # the dataclass defaults survive
        with pytest.raises(NotFound):
            uow.profiles.get("ssp_x")


def test_profile_save_changes_all_but_id_and_creation(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.profiles.add(profile())
    edited = replace(
        profile(),
        name="Renamed",
        allowed_strategies=("generic-saml",),
        user_attributes=(),
        branding=Branding(),
        introduction="",
        updated_at=NOW + SECOND,
    )
    with store.unit_of_work() as uow:
        uow.profiles.save(replace(edited, created_at=NOW + SECOND))
        with pytest.raises(NotFound):
            uow.profiles.save(profile("ssp_x"))
    with store.unit_of_work() as uow:
        assert uow.profiles.get("ssp_1") == edited


def test_profile_pages_oldest_first(store: Store) -> None:
    with store.unit_of_work() as uow:
        for profile_id, at in [("ssp_b", NOW), ("ssp_a", NOW), ("ssp_c", NOW - SECOND)]:
            uow.profiles.add(profile(profile_id, at=at))
    with store.unit_of_work() as uow:
        first = uow.profiles.page(after=None, limit=2)
        uow.profiles.add(profile("ssp_d", at=NOW + SECOND))
        rest = uow.profiles.page(after=(first[-1].created_at, first[-1].id), limit=5)
    assert [p.id for p in first] == ["ssp_c", "ssp_a"]
    assert [p.id for p in rest] == ["ssp_b", "ssp_d"]


def test_deleting_a_profile_leaves_its_links_without_one(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.profiles.add(profile())
        uow.portal_links.add(portal_link("pl_1", profile_id="ssp_1"))
    with store.unit_of_work() as uow:
        uow.profiles.delete("ssp_1")
        with pytest.raises(NotFound):
            uow.profiles.delete("ssp_1")
    with store.unit_of_work() as uow:
        assert uow.portal_links.get("org_a", "pl_1").profile_id is None
        assert uow.portal_links.use("hash-pl_1", now=NOW).uses == 1


# --- portal links --------------------------------------------------------------------------


def test_portal_link_round_trip_and_ownership(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.profiles.add(profile())
    edit = portal_link(
        "pl_1",
        connection_id="con_a",
        profile_id="ssp_1",
        enabled_features=("sso", "domain_verification"),
        max_uses=3,
    )
    with store.unit_of_work() as uow:
        uow.portal_links.add(edit)
    with store.unit_of_work() as uow:
        assert uow.portal_links.get("org_a", "pl_1") == edit
        with pytest.raises(NotFound):
            uow.portal_links.get("org_b", "pl_1")
        with pytest.raises(NotFound):
            uow.portal_links.revoke("org_b", "pl_1", now=NOW)


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"id": "pl_1", "token_hash": "other"}, AlreadyExists),
        ({"id": "pl_2", "token_hash": "hash-pl_1"}, AlreadyExists),
        ({"id": "pl_2", "organization_id": "org_x"}, NotFound),
        ({"id": "pl_2", "profile_id": "ssp_x"}, NotFound),
        ({"id": "pl_2", "connection_id": "con_x"}, NotFound),
        # Another organization's connection: the composite foreign key refuses it.
        ({"id": "pl_2", "connection_id": "con_b"}, NotFound),
    ],
    ids=["id", "token", "organization", "profile", "connection", "foreign-connection"],
)
def test_portal_link_add_refusals_leave_the_unit_of_work_usable(
    store: Store, changes: dict[str, str], outcome: type[Exception]
) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.portal_links.add(portal_link("pl_1"))
    with store.unit_of_work() as uow:
        with pytest.raises(outcome):
            uow.portal_links.add(replace(portal_link(changes["id"]), **changes))  # type: ignore[arg-type]
        uow.portal_links.add(portal_link("pl_3"))
    with store.unit_of_work() as uow:
        assert [link.id for link in uow.portal_links.page("org_a", after=None, limit=9)] == [
            "pl_1",
            "pl_3",
        ]


def test_portal_link_use_counts_up_to_max_uses(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.portal_links.add(portal_link("pl_1", max_uses=2))
    with store.unit_of_work() as uow:
        assert uow.portal_links.use("hash-pl_1", now=NOW).uses == 1
        used = uow.portal_links.use("hash-pl_1", now=NOW)
        assert used == portal_link("pl_1", max_uses=2, uses=2)
        assert not used.usable(NOW)
        with pytest.raises(NotFound):
            uow.portal_links.use("hash-pl_1", now=NOW)
        with pytest.raises(NotFound):
            uow.portal_links.use("hash-unknown", now=NOW)
    with store.unit_of_work() as uow:
        assert uow.portal_links.get("org_a", "pl_1").uses == 2


def test_portal_link_expires_exactly_at_its_expiry(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.portal_links.add(portal_link("pl_1", max_uses=5))
    expiry = portal_link("pl_1").expires_at
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.portal_links.use("hash-pl_1", now=expiry)
        assert uow.portal_links.use("hash-pl_1", now=expiry - TICK).uses == 1


def test_revoked_portal_link_cannot_be_used_and_revocation_is_idempotent(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.portal_links.add(portal_link("pl_1", max_uses=5))
    with store.unit_of_work() as uow:
        revoked = uow.portal_links.revoke("org_a", "pl_1", now=NOW + SECOND)
        again = uow.portal_links.revoke("org_a", "pl_1", now=NOW + 2 * SECOND)
        assert revoked == again == portal_link("pl_1", max_uses=5, revoked_at=NOW + SECOND)
        with pytest.raises(NotFound):
            uow.portal_links.revoke("org_a", "pl_x", now=NOW)
        with pytest.raises(NotFound):
            uow.portal_links.use("hash-pl_1", now=NOW)


def test_portal_link_pages_are_one_organizations(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.portal_links.add(portal_link("pl_2"))
        uow.portal_links.add(portal_link("pl_1"))
        uow.portal_links.add(portal_link("pl_b", "org_b", token_hash="hash-b"))
        uow.portal_links.add(portal_link("pl_0", created_at=NOW + SECOND))
    with store.unit_of_work() as uow:
        first = uow.portal_links.page("org_a", after=None, limit=2)
        rest = uow.portal_links.page("org_a", after=(NOW, first[-1].id), limit=2)
        assert [link.id for link in uow.portal_links.page("org_b", after=None, limit=9)] == ["pl_b"]
    assert [link.id for link in first] == ["pl_1", "pl_2"]
    assert [link.id for link in rest] == ["pl_0"]


# --- idempotency keys ----------------------------------------------------------------------


def begin(store: Store, key: str = "key-1", *, request_hash: str = "rh-1", now: datetime = NOW):
    with store.unit_of_work() as uow:
        return uow.idempotency.begin(
            "mc_1", key, request_hash=request_hash, now=now, expires_at=now + TTL
        )


CREATED = StoredResponse(
    request_hash="rh-1",
    status=201,
    body={"id": "org_1", "domains": ["a.test"], "nested": {"n": None}},
    location="/v1/organizations/org_1",
)


def test_idempotency_begin_reserves_then_reports_in_progress(store: Store) -> None:
    assert begin(store) is None
    assert begin(store) == StoredResponse(request_hash="rh-1", status=0, body={})
    # Another request under the same key: the caller compares the hash.
    assert begin(store, request_hash="rh-2") == StoredResponse(
        request_hash="rh-1", status=0, body={}
    )
    assert begin(store, "key-2") is None
    with store.unit_of_work() as uow:
        assert (
            uow.idempotency.begin("mc_2", "key-1", request_hash="rh", now=NOW, expires_at=NOW + TTL)
            is None
        )


def test_idempotency_finish_then_replay(store: Store) -> None:
    assert begin(store) is None
    with store.unit_of_work() as uow:
        uow.idempotency.finish("mc_1", "key-1", CREATED)
    assert begin(store) == CREATED
    assert begin(store, now=NOW + TTL - TICK) == CREATED
    # Finishing twice, or for another request, changes nothing.
    with store.unit_of_work() as uow:
        uow.idempotency.finish("mc_1", "key-1", replace(CREATED, status=500))
        uow.idempotency.finish("mc_1", "key-1", replace(CREATED, request_hash="rh-2"))
        uow.idempotency.finish("mc_1", "key-absent", CREATED)
    assert begin(store) == CREATED


def test_idempotency_response_without_location(store: Store) -> None:
    assert begin(store) is None
    deleted = StoredResponse(request_hash="rh-1", status=204, body={})
    with store.unit_of_work() as uow:
        uow.idempotency.finish("mc_1", "key-1", deleted)
    assert begin(store) == deleted


def test_idempotency_expired_entry_is_new_again(store: Store) -> None:
    assert begin(store) is None
    with store.unit_of_work() as uow:
        uow.idempotency.finish("mc_1", "key-1", CREATED)
    expiry = NOW + TTL
    assert begin(store, request_hash="rh-2", now=expiry) is None
    # The replacement is a fresh reservation with its own hash and expiry.
    assert begin(store, now=expiry + TTL - TICK) == StoredResponse(
        request_hash="rh-2", status=0, body={}
    )
    assert begin(store, now=expiry + TTL) is None


def test_idempotency_release_forgets_only_a_reservation_in_progress(store: Store) -> None:
    assert begin(store) is None
    with store.unit_of_work() as uow:
        uow.idempotency.release("mc_1", "key-1")
        uow.idempotency.release("mc_1", "key-absent")
    assert begin(store) is None  # a retry may run
    with store.unit_of_work() as uow:
        uow.idempotency.finish("mc_1", "key-1", CREATED)
        uow.idempotency.release("mc_1", "key-1")
    assert begin(store) == CREATED


def test_idempotency_purge_expired(store: Store) -> None:
    assert begin(store, "old", now=NOW - TTL) is None
    assert begin(store, "edge", now=NOW - TTL + TICK) is None
    with store.unit_of_work() as uow:
        assert uow.idempotency.purge_expired(now=NOW, limit=100) == 1
        assert uow.idempotency.purge_expired(now=NOW, limit=100) == 0
    assert begin(store, "edge", now=NOW) == StoredResponse(request_hash="rh-1", status=0, body={})


def reserve_then_fail(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.idempotency.begin("mc_1", "key-1", request_hash="rh-1", now=NOW, expires_at=NOW + TTL)
        raise RuntimeError("the request failed")


def test_idempotency_reservation_rolls_back_with_its_unit_of_work(store: Store) -> None:
    with pytest.raises(RuntimeError):
        reserve_then_fail(store)
    assert begin(store) is None


# --- rate limits ---------------------------------------------------------------------------


def test_rate_limit_counts_per_bucket_and_window(store: Store) -> None:
    window = NOW.replace(second=0, microsecond=0)
    next_window = window + timedelta(minutes=1)
    with store.unit_of_work() as uow:
        assert [uow.rate_limits.hit("mc_1", window_start=window) for _ in range(3)] == [1, 2, 3]
        assert uow.rate_limits.hit("mc_2", window_start=window) == 1
        assert uow.rate_limits.hit("mc_1", window_start=next_window) == 1
    with store.unit_of_work() as uow:
        assert uow.rate_limits.hit("mc_1", window_start=window) == 4


def test_a_weighted_hit_counts_as_that_many(store: Store) -> None:
    """A failed client authentication at /token is charged several requests in one
    statement, on a new window's row or an existing one."""
    window = NOW.replace(second=0, microsecond=0)
    with store.unit_of_work() as uow:
        assert uow.rate_limits.hit("token-address:a", window_start=window, weight=9) == 9
        assert uow.rate_limits.hit("token-address:a", window_start=window) == 10
        assert uow.rate_limits.hit("token-address:a", window_start=window, weight=9) == 19


def test_rate_limit_purge_expired(store: Store) -> None:
    windows = [NOW + n * timedelta(minutes=1) for n in range(3)]
    with store.unit_of_work() as uow:
        for window in windows:
            uow.rate_limits.hit("mc_1", window_start=window)
            uow.rate_limits.hit("mc_2", window_start=window)
    with store.unit_of_work() as uow:
        assert uow.rate_limits.purge_expired(now=windows[1] + MAX_WINDOW, limit=100) == 4
        assert uow.rate_limits.purge_expired(now=windows[1] + MAX_WINDOW, limit=100) == 0
        assert uow.rate_limits.hit("mc_1", window_start=windows[0]) == 1
        assert uow.rate_limits.hit("mc_1", window_start=windows[2]) == 2
