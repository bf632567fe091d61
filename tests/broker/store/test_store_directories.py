"""The store's contract for directories (broker/store/protocols_directories.py), on every
backend: tokens by hash and their rotation overlap, users unique by userName whatever its
case, versions as compare-and-swap, another directory's ids absent, membership deltas,
the filters' SQL, the bounded request log, and the links sign-in reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from broker.model.directories import (
    And,
    Compare,
    Directory,
    DirectoryGroup,
    DirectoryRequest,
    DirectoryState,
    DirectoryToken,
    DirectoryUser,
    FilterOp,
    LinkKey,
    Or,
    Page,
)
from broker.store import AlreadyExists, Conflict, NotFound, Store
from tests.broker.store.test_store_tenancy import organization

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def directory(directory_id: str = "dir_a", org_id: str = "org_a") -> Directory:
    return Directory(
        id=directory_id,
        organization_id=org_id,
        name="Okta",
        link_key=LinkKey.EMAIL,
        state=DirectoryState.ACTIVE,
        created_at=NOW,
    )


def user(user_id: str, user_name: str, directory_id: str = "dir_a", **changes) -> DirectoryUser:
    emails = changes.pop("emails", (f"{user_name.lower()}@a.test",))
    value = DirectoryUser(
        id=user_id,
        directory_id=directory_id,
        user_name=user_name,
        external_id=f"ext-{user_id}",
        active=True,
        display_name=user_name.title(),
        emails=emails,
        primary_email=emails[0] if emails else None,
        resource={"userName": user_name},
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(value, **changes)


def group(group_id: str, name: str = "Admins", directory_id: str = "dir_a") -> DirectoryGroup:
    return DirectoryGroup(
        id=group_id,
        directory_id=directory_id,
        display_name=name,
        external_id=None,
        resource={"displayName": name},
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.fixture
def seeded(store: Store) -> Store:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a"))
        uow.organizations.add(organization("org_b"))
        uow.directories.add(directory("dir_a", "org_a"))
        uow.directories.add(directory("dir_b", "org_b"))
    return store


def test_a_directory_needs_its_organization(seeded: Store) -> None:
    with pytest.raises(NotFound), seeded.unit_of_work() as uow:
        uow.directories.add(directory("dir_x", "org_missing"))
    with seeded.unit_of_work() as uow:
        assert [d.id for d in uow.directories.of_organization("org_a")] == ["dir_a"]
        assert len(uow.directories.page(organization_id=None, after=None, limit=10)) == 2


def test_tokens_are_found_by_hash_and_a_rotation_leaves_an_overlap(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.directories.add_token(
            DirectoryToken(id="t1", directory_id="dir_a", token_hash="h1", created_at=NOW)
        )
        uow.directories.add_token(
            DirectoryToken(id="t2", directory_id="dir_a", token_hash="h2", created_at=NOW)
        )
        assert uow.directories.expire_tokens("dir_a", at=NOW + HOUR, keep="t2") == 1
    with seeded.unit_of_work() as uow:
        old = uow.directories.token_by_hash("h1")
        new = uow.directories.token_by_hash("h2")
        assert old is not None
        assert new is not None
        assert old.usable(NOW)
        assert not old.usable(NOW + HOUR)
        assert new.usable(NOW + 100 * HOUR)
        assert uow.directories.revoke_tokens("dir_a", at=NOW) == 2
        assert uow.directories.token_by_hash("h2").usable(NOW) is False  # type: ignore[union-attr]
        assert uow.directories.token_by_hash("nope") is None


def test_user_names_are_unique_per_directory_whatever_their_case(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.directory_users.add(user("u1", "bjensen"))
        with pytest.raises(AlreadyExists):
            uow.directory_users.add(user("u2", "BJensen"))
        uow.directory_users.add(user("u3", "bjensen", directory_id="dir_b"))
        uow.directory_users.add(user("u4", "jsmith"))
        with pytest.raises(AlreadyExists):
            uow.directory_users.save(replace(user("u4", "BJENSEN"), version=2), expected_version=1)
        # The unit of work is still usable after both refusals.
        assert uow.directory_users.count("dir_a") == 2


def test_versions_are_compare_and_swap_and_other_directories_ids_are_absent(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.directory_users.add(user("u1", "bjensen"))
    with seeded.unit_of_work() as uow:
        users = uow.directory_users
        users.save(replace(user("u1", "bjensen"), version=2, display_name="B"), expected_version=1)
        with pytest.raises(Conflict):
            users.save(replace(user("u1", "bjensen"), version=3), expected_version=1)
        with pytest.raises(NotFound):
            users.get("dir_b", "u1")
        with pytest.raises(NotFound):
            users.save(
                replace(user("u1", "x", directory_id="dir_b"), version=2), expected_version=None
            )
        with pytest.raises(NotFound):
            users.delete("dir_b", "u1", expected_version=None)
        with pytest.raises(Conflict):
            users.delete("dir_a", "u1", expected_version=1)
        assert users.get("dir_a", "u1", lock=True).display_name == "B"
        users.delete("dir_a", "u1", expected_version=2)
        with pytest.raises(NotFound):
            users.get("dir_a", "u1")


def test_memberships_change_by_deltas_and_go_with_their_user(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        for n in range(3):
            uow.directory_users.add(user(f"u{n}", f"user{n}"))
        uow.directory_groups.add(group("g1"))
        groups = uow.directory_groups
        assert groups.add_members("g1", ["u0", "u1", "u1"]) == ["u0", "u1"]
        assert groups.add_members("g1", ["u1", "u2"]) == ["u2"]
        assert sorted(groups.remove_members("g1", ["u0", "nobody"])) == ["u0"]
        assert groups.members("g1") == ["u1", "u2"]
        assert [g.id for g in groups.of_user("dir_a", "u2")] == ["g1"]
        uow.directory_users.delete("dir_a", "u2", expected_version=None)
        assert groups.members("g1") == ["u1"]
        with pytest.raises(NotFound):
            groups.get("dir_b", "g1")


def test_filters_become_sql_alike_on_every_backend(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.directory_users.add(user("u1", "Alice", emails=("alice@home.test", "Alice@Work.test")))
        uow.directory_users.add(user("u2", "bob_%", active=False, external_id="EXT-b"))
        uow.directory_users.add(user("u3", "carol", active=None, display_name=None, emails=()))
        uow.directory_users.add(user("u4", "other", directory_id="dir_b"))

    def ids(where, page: Page | None = None) -> list[str]:
        with seeded.unit_of_work() as uow:
            found = uow.directory_users.search("dir_a", where, page or Page())
            return [u.id for u in found.items]

    assert ids(Compare("userName", FilterOp.EQ, "alice")) == ["u1"]
    assert ids(Compare("userName", FilterOp.SW, "bob_")) == ["u2"]
    assert ids(Compare("userName", FilterOp.SW, "b_b")) == []
    assert ids(Compare("userName", FilterOp.CO, "%")) == ["u2"]
    assert ids(Compare("externalId", FilterOp.CO, "ext")) == ["u1", "u3"]
    assert ids(Compare("emails", FilterOp.EQ, "alice@work.test")) == ["u1"]
    assert ids(Compare("emails", FilterOp.EQ, "alice@work")) == []
    assert ids(Compare("emails", FilterOp.SW, "alice@w")) == ["u1"]
    assert ids(Compare("emails", FilterOp.PR)) == ["u1", "u2"]
    assert ids(Compare("displayName", FilterOp.PR)) == ["u1", "u2"]
    assert ids(Compare("active", FilterOp.EQ, False)) == ["u2"]
    assert ids(Compare("active", FilterOp.PR)) == ["u1", "u2"]
    either = Or(Compare("userName", FilterOp.EQ, "carol"), Compare("active", FilterOp.EQ, False))
    assert ids(either) == ["u2", "u3"]
    assert ids(And(either, Compare("userName", FilterOp.SW, "c"))) == ["u3"]
    with seeded.unit_of_work() as uow:
        found = uow.directory_users.search("dir_a", None, Page(start=1, count=1))
        assert found.total == 3
        assert [u.id for u in found.items] == ["u2"]
        assert uow.directory_users.search("dir_a", None, Page(count=0)).items == ()


def test_group_filters_on_members(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.directory_users.add(user("u1", "alice"))
        uow.directory_groups.add(group("g1", "Admins"))
        uow.directory_groups.add(group("g2", "Staff"))
        uow.directory_groups.add_members("g2", ["u1"])
        search = uow.directory_groups.search
        assert [
            g.id for g in search("dir_a", Compare("members", FilterOp.EQ, "u1"), Page()).items
        ] == ["g2"]
        assert [
            g.id
            for g in search("dir_a", Compare("displayName", FilterOp.EQ, "admins"), Page()).items
        ] == ["g1"]


def test_sign_in_finds_the_linked_user_and_an_inactive_one_wins(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.directories.add(replace(directory("dir_a2", "org_a"), created_at=NOW + HOUR))
        uow.directory_users.add(user("u1", "Ann", emails=("Ann@A.test",)))
        uow.directory_users.add(user("u2", "ann", directory_id="dir_a2", active=False))
        found = uow.directory_users.linked("org_a", LinkKey.EMAIL, "ANN@a.test")
        assert found is not None
        assert found.id == "u2"
        assert uow.directory_users.linked("org_b", LinkKey.EMAIL, "ann@a.test") is None
        by_subject = uow.directory_users.linked("org_a", LinkKey.SUBJECT, "ANN")
        assert by_subject is not None
        assert by_subject.id == "u2"
        by_external = uow.directory_users.linked("org_a", LinkKey.EXTERNAL_ID, "ext-u1")
        assert by_external is not None
        assert by_external.id == "u1"


def test_the_request_log_is_bounded_and_purged(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        size = uow.directories.REQUEST_LOG_SIZE
        for n in range(size + 5):
            uow.directories.log_request(
                DirectoryRequest(
                    id=f"r{n:04}",
                    directory_id="dir_a",
                    at=NOW + timedelta(seconds=n),
                    method="GET",
                    path="/Users",
                    status=200,
                )
            )
        uow.directories.log_request(
            DirectoryRequest(
                id="gone", directory_id="dir_gone", at=NOW, method="GET", path="/", status=401
            )
        )
    with seeded.unit_of_work() as uow:
        newest = uow.directories.requests("dir_a", limit=1000)
        assert len(newest) == size
        assert newest[0].id == f"r{size + 4:04}"
        assert (
            uow.directories.purge_requests_before(NOW + timedelta(seconds=size), limit=1000)
            == size - 5 + 1
        )


def test_adding_a_member_deleted_meanwhile_is_not_found(seeded: Store) -> None:
    with seeded.unit_of_work() as uow:
        uow.directory_groups.add(group("g1"))
    with pytest.raises(NotFound), seeded.unit_of_work() as uow:
        uow.directory_groups.add_members("g1", ["u_gone"])
    with seeded.unit_of_work() as uow:
        assert uow.directory_groups.members("g1") == []
