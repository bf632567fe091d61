"""What sign-in and `/userinfo` read of a directory (broker/model/directory_access.py), on
every backend: a disabled directory's users link no one, a user's standing by id alone,
the groups of a user up to a limit, and the directory user a code and its token carry."""

from __future__ import annotations

from dataclasses import replace

from broker.model.directories import DirectoryState, LinkKey
from broker.model.directory_access import Standing
from broker.model.records import AuthorizationCode
from broker.store import Store
from tests.broker.store.test_store import NOW, code, token
from tests.broker.store.test_store_directories import directory, group, user
from tests.broker.store.test_store_tenancy import organization


def seed(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a"))
        uow.directories.add(directory("dir_a", "org_a"))
        uow.directories.add(directory("dir_old", "org_a"))
        uow.directory_users.add(user("u_ann", "ann", "dir_a"))
        uow.directory_users.add(user("u_old", "ann", "dir_old", active=False))


def test_a_disabled_directory_links_no_one(store: Store) -> None:
    """Its inactive copy of a person would otherwise win over the active one elsewhere."""
    seed(store)
    with store.unit_of_work() as uow:
        found = uow.directory_users.linked("org_a", LinkKey.EMAIL, "ANN@a.test")
        assert found is not None
        assert found.id == "u_old"
        uow.directories.set_state("dir_old", DirectoryState.DISABLED)
        found = uow.directory_users.linked("org_a", LinkKey.EMAIL, "ann@a.test")
        assert found is not None
        assert found.id == "u_ann"
        uow.directories.set_state("dir_a", DirectoryState.DISABLED)
        assert uow.directory_users.linked("org_a", LinkKey.EMAIL, "ann@a.test") is None


def test_a_users_standing_by_its_id_alone(store: Store) -> None:
    seed(store)
    with store.unit_of_work() as uow:
        assert uow.directory_users.standing("u_ann") == Standing(
            active=True, directory_state=DirectoryState.ACTIVE
        )
        assert uow.directory_users.standing("u_old") == Standing(
            active=False, directory_state=DirectoryState.ACTIVE
        )
        uow.directory_users.add(user("u_unsaid", "cid", "dir_a", active=None))
        assert uow.directory_users.standing("u_unsaid") == Standing(
            active=True, directory_state=DirectoryState.ACTIVE
        )
        uow.directories.set_state("dir_old", DirectoryState.DISABLED)
        standing = uow.directory_users.standing("u_old")
        assert standing is not None
        assert standing.directory_state is DirectoryState.DISABLED
        uow.directory_users.delete("dir_a", "u_ann", expected_version=None)
        assert uow.directory_users.standing("u_ann") is None
        uow.directories.delete("dir_old")
        assert uow.directory_users.standing("u_old") is None
        assert uow.directory_users.standing("u_nobody") is None


def test_the_groups_of_a_user_up_to_a_limit(store: Store) -> None:
    seed(store)
    with store.unit_of_work() as uow:
        for group_id, name in (("g_b", "Beta"), ("g_a", "alpha"), ("g_c", "Gamma")):
            uow.directory_groups.add(group(group_id, name, "dir_a"))
            uow.directory_groups.add_members(group_id, ["u_ann"])
        names = [g.display_name for g in uow.directory_groups.of_user("dir_a", "u_ann")]
        assert names == ["alpha", "Beta", "Gamma"]
        limited = uow.directory_groups.of_user("dir_a", "u_ann", limit=2)
        assert [g.display_name for g in limited] == ["alpha", "Beta"]


def test_a_code_and_its_token_carry_the_directory_user(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.codes.add(replace(code(), directory_user_id="u_ann"))
        consumed = uow.codes.consume("c" * 64, now=NOW)
        assert isinstance(consumed, AuthorizationCode)
        assert consumed.directory_user_id == "u_ann"
        uow.access_tokens.add(replace(token(), directory_user_id="u_ann"))
        assert uow.access_tokens.get("t" * 64, now=NOW).directory_user_id == "u_ann"
        uow.codes.add(code("d" * 64))
        uow.access_tokens.add(token("s" * 64, "d" * 64))
        assert uow.access_tokens.get("s" * 64, now=NOW).directory_user_id is None
