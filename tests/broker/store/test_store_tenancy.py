"""The store's contract for the tenancy side as the management API uses it, run on every
backend: domain claims by several organizations (one verified), keyset pages, saves and
deletes, and what a delete takes with it (the foreign keys' cascades)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from broker.model.management import PortalLink
from broker.model.records import AuditEvent, Connection, Domain, Organization
from broker.store import AlreadyExists, NotFound, Store, UnitOfWork

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def organization(
    org_id: str, *, at: datetime = NOW, external_id: str | None = None
) -> Organization:
    return Organization(id=org_id, name=f"Org {org_id}", external_id=external_id, created_at=at)


def connection(con_id: str, org_id: str = "org_a", *, at: datetime = NOW) -> Connection:
    return Connection(
        id=con_id,
        organization_id=org_id,
        kind="oidc",
        name=f"IdP {con_id}",
        config={"issuer": f"https://{con_id}.test"},
        created_at=at,
    )


def claim(org_id: str, name: str, *, verified: bool = False) -> Domain:
    return Domain(
        organization_id=org_id,
        name=name,
        verified_at=NOW if verified else None,
        verification_token=f"tok-{org_id}-{name}",
        created_at=NOW,
    )


def portal_link(
    link_id: str, org_id: str = "org_a", *, connection_id: str | None = None, **changes: object
) -> PortalLink:
    link = PortalLink(
        id=link_id,
        organization_id=org_id,
        token_hash=f"hash-{link_id}",
        profile_id=None,
        connection_id=connection_id,
        enabled_features=("sso",),
        max_uses=1,
        expires_at=NOW + timedelta(days=1),
        created_at=NOW,
        created_by="management_client:mc_1",
    )
    return replace(link, **changes)  # type: ignore[arg-type]


def login(uow: UnitOfWork, org_id: str, con_id: str, subject: str, *, at: datetime = NOW) -> str:
    identity = uow.identities.record_login(
        organization_id=org_id,
        connection_id=con_id,
        idp_subject=subject,
        email=f"{subject}@{org_id}.test",
        new_id=f"usr_{con_id}_{subject}",
        now=at,
    )
    return identity.id


def seed_organizations(store: Store, *org_ids: str) -> None:
    with store.unit_of_work() as uow:
        for org_id in org_ids:
            uow.organizations.add(organization(org_id))


# --- domains -------------------------------------------------------------------------------


def test_domain_round_trip_keeps_token_and_creation_time(store: Store) -> None:
    seed_organizations(store, "org_a")
    with store.unit_of_work() as uow:
        uow.domains.add(claim("org_a", "a.test"))
        uow.domains.add(Domain(organization_id="org_a", name="bare.test"))
    with store.unit_of_work() as uow:
        assert uow.domains.get("org_a", "a.test") == claim("org_a", "a.test")
        assert uow.domains.get("org_a", "bare.test") == Domain(
            organization_id="org_a", name="bare.test"
        )
        assert uow.domains.get("org_a", "a.test").created_at.tzinfo == UTC  # type: ignore[union-attr]


def test_several_organizations_claim_a_name_and_one_verifies_it(store: Store) -> None:
    seed_organizations(store, "org_a", "org_b", "org_c")
    with store.unit_of_work() as uow:
        for org_id in ("org_a", "org_b", "org_c"):
            uow.domains.add(claim(org_id, "shared.test"))
        with pytest.raises(NotFound):
            uow.domains.find_verified("shared.test")
    with store.unit_of_work() as uow:
        uow.domains.save(replace(claim("org_b", "shared.test"), verified_at=NOW))
    with store.unit_of_work() as uow:
        assert uow.domains.find_verified("shared.test").organization_id == "org_b"
        assert [(d.organization_id, d.is_verified) for d in uow.domains.list()] == [
            ("org_a", False),
            ("org_b", True),
            ("org_c", False),
        ]
        assert not uow.domains.get("org_a", "shared.test").is_verified


def test_verifying_a_name_another_organization_verified_leaves_the_unit_of_work_usable(
    store: Store,
) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        uow.domains.add(claim("org_a", "shared.test", verified=True))
        uow.domains.add(claim("org_b", "shared.test"))
    with store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists):
            uow.domains.save(replace(claim("org_b", "shared.test"), verified_at=NOW))
        # The refusal rolled back to its savepoint only: the transaction goes on.
        assert uow.domains.find_verified("shared.test").organization_id == "org_a"
        uow.domains.save(replace(claim("org_b", "shared.test"), verification_token="new"))
        uow.audit.record(AuditEvent(id="evt_1", at=NOW, kind="domain.verification_refused"))
    with store.unit_of_work() as uow:
        assert uow.domains.get("org_b", "shared.test").verification_token == "new"
        assert not uow.domains.get("org_b", "shared.test").is_verified
        assert [e.id for e in uow.audit.list()] == ["evt_1"]


def test_adding_a_verified_claim_another_organization_verified_is_already_exists(
    store: Store,
) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        uow.domains.add(claim("org_a", "shared.test", verified=True))
        with pytest.raises(AlreadyExists):
            uow.domains.add(claim("org_b", "shared.test", verified=True))
        uow.domains.add(claim("org_b", "shared.test"))  # usable; unverified is fine
    with store.unit_of_work() as uow:
        assert [d.organization_id for d in uow.domains.list()] == ["org_a", "org_b"]


def test_once_the_verified_claim_goes_another_organization_may_verify(store: Store) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        uow.domains.add(claim("org_a", "shared.test", verified=True))
        uow.domains.add(claim("org_b", "shared.test"))
    with store.unit_of_work() as uow:
        uow.domains.save(replace(claim("org_a", "shared.test"), verified_at=None))
        uow.domains.save(claim("org_b", "shared.test", verified=True))
    with store.unit_of_work() as uow:
        assert uow.domains.find_verified("shared.test").organization_id == "org_b"
        uow.domains.delete("org_b", "shared.test")
        with pytest.raises(NotFound):
            uow.domains.find_verified("shared.test")
        uow.domains.save(claim("org_a", "shared.test", verified=True))
    with store.unit_of_work() as uow:
        assert uow.domains.find_verified("shared.test").organization_id == "org_a"


def test_domain_save_and_delete_touch_only_that_organizations_claim(store: Store) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        uow.domains.add(claim("org_a", "a.test"))
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.domains.save(claim("org_b", "a.test", verified=True))
        with pytest.raises(NotFound):
            uow.domains.delete("org_b", "a.test")
        with pytest.raises(NotFound):
            uow.domains.get("org_b", "a.test")
        with pytest.raises(NotFound):
            uow.domains.save(claim("org_a", "other.test"))
    with store.unit_of_work() as uow:
        assert uow.domains.list() == [claim("org_a", "a.test")]
        uow.domains.delete("org_a", "a.test")
        with pytest.raises(NotFound):
            uow.domains.delete("org_a", "a.test")
    with store.unit_of_work() as uow:
        assert uow.domains.list() == []


def test_domain_pages_by_name_are_stable_when_claims_are_added(store: Store) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        for name in ("d.test", "b.test", "f.test", "a.test"):
            uow.domains.add(claim("org_a", name))
        uow.domains.add(claim("org_b", "c.test"))
    with store.unit_of_work() as uow:
        first = uow.domains.page("org_a", after=None, limit=2)
    assert [d.name for d in first] == ["a.test", "b.test"]
    with store.unit_of_work() as uow:
        uow.domains.add(claim("org_a", "aa.test"))  # sorts before the page key: not seen
        uow.domains.add(claim("org_a", "e.test"))
    with store.unit_of_work() as uow:
        second = uow.domains.page("org_a", after=first[-1].name, limit=2)
        third = uow.domains.page("org_a", after=second[-1].name, limit=2)
        assert uow.domains.page("org_a", after=third[-1].name, limit=2) == []
        assert uow.domains.page("org_x", after=None, limit=2) == []
        with pytest.raises(ValueError, match="limit"):
            uow.domains.page("org_a", after=None, limit=0)
    assert [d.name for d in second] == ["d.test", "e.test"]
    assert [d.name for d in third] == ["f.test"]


# --- organizations -------------------------------------------------------------------------


def test_organization_pages_oldest_first_stable_when_organizations_are_added(
    store: Store,
) -> None:
    with store.unit_of_work() as uow:
        # Two of one instant: the id breaks the tie, so a page may end between them.
        for org_id, at in [("org_c", NOW), ("org_b", NOW), ("org_a", NOW + SECOND)]:
            uow.organizations.add(organization(org_id, at=at))
        uow.organizations.add(organization("org_0", at=NOW - SECOND))
    with store.unit_of_work() as uow:
        first = uow.organizations.page(after=None, limit=2)
    assert [o.id for o in first] == ["org_0", "org_b"]
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_new", at=NOW + 2 * SECOND))
    key = (first[-1].created_at, first[-1].id)
    with store.unit_of_work() as uow:
        second = uow.organizations.page(after=key, limit=2)
        third = uow.organizations.page(after=(second[-1].created_at, second[-1].id), limit=2)
    assert [o.id for o in second] == ["org_c", "org_a"]
    assert [o.id for o in third] == ["org_new"]
    assert second[0] == organization("org_c")


def test_organization_save_updates_name_and_external_id(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a", external_id="ext-a"))
        uow.organizations.add(organization("org_b", external_id="ext-b"))
    renamed = replace(organization("org_a"), name="Renamed", external_id="ext-a2")
    with store.unit_of_work() as uow:
        uow.organizations.save(replace(renamed, created_at=NOW + SECOND))  # never changes
    with store.unit_of_work() as uow:
        assert uow.organizations.get("org_a") == renamed
        assert uow.organizations.get_by_external_id("ext-a2").id == "org_a"
        with pytest.raises(NotFound):
            uow.organizations.get_by_external_id("ext-a")
        uow.organizations.save(replace(renamed, external_id=None))
    with store.unit_of_work() as uow:
        assert uow.organizations.get("org_a").external_id is None


def test_organization_save_refuses_a_taken_external_id_and_stays_usable(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a", external_id="ext-a"))
        uow.organizations.add(organization("org_b", external_id="ext-b"))
    with store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists, match="ext-b"):
            uow.organizations.save(organization("org_a", external_id="ext-b"))
        with pytest.raises(NotFound):
            uow.organizations.save(organization("org_x"))
        uow.organizations.save(replace(organization("org_a", external_id="ext-a"), name="Kept"))
    with store.unit_of_work() as uow:
        assert uow.organizations.get("org_a") == replace(
            organization("org_a", external_id="ext-a"), name="Kept"
        )


def test_deleting_an_organization_takes_everything_it_owns_but_the_audit_trail(
    store: Store,
) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        for org_id in ("org_a", "org_b"):
            uow.domains.add(claim(org_id, f"{org_id}.test", verified=True))
            uow.domains.add(claim(org_id, "shared.test"))
            uow.connections.add(connection(f"con_{org_id}", org_id))
            login(uow, org_id, f"con_{org_id}", "ann")
            uow.portal_links.add(portal_link(f"pl_new_{org_id}", org_id))
            uow.portal_links.add(
                portal_link(f"pl_edit_{org_id}", org_id, connection_id=f"con_{org_id}")
            )
            uow.audit.record(
                AuditEvent(id=f"evt_{org_id}", at=NOW, kind="x", organization_id=org_id)
            )
    with store.unit_of_work() as uow:
        uow.organizations.delete("org_a")
        with pytest.raises(NotFound):
            uow.organizations.delete("org_a")
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.organizations.get("org_a")
        assert uow.domains.for_organization("org_a") == []
        with pytest.raises(NotFound):
            uow.domains.find_verified("org_a.test")
        with pytest.raises(NotFound):
            uow.connections.get("con_org_a")
        with pytest.raises(NotFound):
            uow.identities.get("org_a", "usr_con_org_a_ann")
        for link_id in ("pl_new_org_a", "pl_edit_org_a"):
            with pytest.raises(NotFound):
                uow.portal_links.get("org_a", link_id)
        assert [e.id for e in uow.audit.list()] == ["evt_org_b", "evt_org_a"]
        # The other organization is untouched.
        assert [d.name for d in uow.domains.for_organization("org_b")] == [
            "org_b.test",
            "shared.test",
        ]
        assert uow.identities.get("org_b", "usr_con_org_b_ann").connection_id == "con_org_b"
        assert len(uow.portal_links.page("org_b", after=None, limit=10)) == 2
    with store.unit_of_work() as uow:
        # The name is free again: the deleted organization's verified claim is gone.
        uow.domains.add(claim("org_b", "org_a.test", verified=True))


# --- connections and identities ------------------------------------------------------------


def test_connection_pages_are_one_organizations_stable_when_connections_are_added(
    store: Store,
) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        uow.connections.add(connection("con_2", at=NOW))
        uow.connections.add(connection("con_1", at=NOW))
        uow.connections.add(connection("con_0", at=NOW + SECOND))
        uow.connections.add(connection("con_b", "org_b", at=NOW - SECOND))
    with store.unit_of_work() as uow:
        first = uow.connections.page("org_a", after=None, limit=1)
        uow.connections.add(connection("con_3", at=NOW + 2 * SECOND))
    with store.unit_of_work() as uow:
        rest = uow.connections.page("org_a", after=(NOW, first[-1].id), limit=10)
        assert uow.connections.page("org_b", after=None, limit=10) == [
            connection("con_b", "org_b", at=NOW - SECOND)
        ]
    assert [c.id for c in first] == ["con_1"]
    assert [c.id for c in rest] == ["con_2", "con_0", "con_3"]


def test_deleting_a_connection_takes_its_identities_and_edit_links(store: Store) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        uow.connections.add(connection("con_a"))
        uow.connections.add(connection("con_keep"))
        gone = login(uow, "org_a", "con_a", "ann")
        kept = login(uow, "org_a", "con_keep", "ann")
        uow.portal_links.add(portal_link("pl_edit", connection_id="con_a"))
        uow.portal_links.add(portal_link("pl_new"))
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.connections.delete("org_b", "con_a")  # not org_b's
        with pytest.raises(NotFound):
            uow.connections.delete("org_a", "con_x")
        uow.connections.delete("org_a", "con_a")
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.connections.get("con_a")
        with pytest.raises(NotFound):
            uow.identities.get("org_a", gone)
        with pytest.raises(NotFound):
            uow.portal_links.get("org_a", "pl_edit")
        assert uow.identities.get("org_a", kept).connection_id == "con_keep"
        assert uow.portal_links.get("org_a", "pl_new").connection_id is None


def test_identity_get_page_and_delete_within_one_organization(store: Store) -> None:
    seed_organizations(store, "org_a", "org_b")
    with store.unit_of_work() as uow:
        uow.connections.add(connection("con_a"))
        uow.connections.add(connection("con_b", "org_b"))
        ids = [login(uow, "org_a", "con_a", f"s{n}", at=NOW + n * SECOND) for n in range(3)]
        other = login(uow, "org_b", "con_b", "s0")
    with store.unit_of_work() as uow:
        ann = uow.identities.get("org_a", ids[0])
        assert (ann.idp_subject, ann.email, ann.created_at) == ("s0", "s0@org_a.test", NOW)
        with pytest.raises(NotFound):
            uow.identities.get("org_b", ids[0])
        with pytest.raises(NotFound):
            uow.identities.get("org_a", "usr_nobody")
        first = uow.identities.page("org_a", after=None, limit=2)
        assert [i.id for i in first] == ids[:2]
        key = (first[-1].created_at, first[-1].id)
        assert [i.id for i in uow.identities.page("org_a", after=key, limit=2)] == ids[2:]
        assert [i.id for i in uow.identities.page("org_b", after=None, limit=5)] == [other]
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.identities.delete("org_b", ids[0])
        uow.identities.delete("org_a", ids[0])
        with pytest.raises(NotFound):
            uow.identities.delete("org_a", ids[0])
    with store.unit_of_work() as uow:
        assert [i.id for i in uow.identities.page("org_a", after=None, limit=5)] == ids[1:]
        # The next login through the connection creates the identity anew.
        assert login(uow, "org_a", "con_a", "s0", at=NOW + 9 * SECOND) == ids[0]
        assert uow.identities.get("org_a", ids[0]).created_at == NOW + 9 * SECOND
