"""`/api/v1/organizations/{id}/users`: the identities that logged in, made by real logins
through the broker (the fake connector's IdP) where a test needs the `sub` an RP saw."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from broker.model.opaque import new_id
from broker.store import Store
from tests.support.factories import add_organization
from tests.support.harness import Harness, build_harness
from tests.support.management_api import ApiWorld
from tests.support.management_checks import assert_same_not_found, assert_scope_refused

ACME = "org_acme"  # the harness's organization, with connection con_acme


@pytest.fixture
def acme(world: ApiWorld, store: Store, tmp_path: Path) -> Iterator[Harness]:
    """A broker with Acme's test connection, on the management API's database."""
    harness = build_harness(store, tmp_path / "login")
    with harness.client:
        yield harness


def log_in(acme: Harness, **identity: str) -> str:
    """A whole login, as Auth0 makes it; the `sub` the ID token asserts."""
    login, code = acme.login_and_get_code(**identity)
    tokens = acme.redeem(code, verifier=login.verifier)
    assert tokens.status_code == 200, tokens.text
    return str(acme.verify_id_token(tokens.json()["id_token"])["sub"])


def users(org: str) -> str:
    return f"/organizations/{org}/users"


def other_organization_user(world: ApiWorld) -> str:
    now = world.clock.now()
    with world.store.unit_of_work() as uow:
        add_organization(uow, org_id="org_other", name="Other", domain="other.test", now=now,
                         connection_id="con_other")  # fmt: skip
        identity = uow.identities.record_login(
            organization_id="org_other", connection_id="con_other", idp_subject="idp-olga",
            email="olga@other.test", new_id=new_id("usr"), now=now,
        )  # fmt: skip
    return identity.id


def test_a_login_makes_a_user_whose_id_is_the_sub_the_app_saw(
    world: ApiWorld, acme: Harness
) -> None:
    sub = log_in(acme)
    listed = world.admin().get(users(ACME))
    assert listed.status_code == 200, listed.text
    [user] = listed.json()["items"]
    assert listed.json()["next_cursor"] is None
    assert user["id"] == sub
    assert user["connection_id"] == "con_acme"
    assert user["idp_subject"] == "idp-ann"
    assert user["email"] == "ann@acme.test"
    assert set(user) == {
        "id", "connection_id", "idp_subject", "email", "created_at", "last_login_at",
    }  # fmt: skip
    assert world.admin().get(f"{users(ACME)}/{sub}").json() == user


def test_a_later_login_updates_last_login_and_email(world: ApiWorld, acme: Harness) -> None:
    sub = log_in(acme)
    acme.clock.advance(timedelta(hours=1))
    assert log_in(acme, email="ann.new@acme.test") == sub
    user = world.admin().get(f"{users(ACME)}/{sub}").json()
    assert user["email"] == "ann.new@acme.test"
    last, first = (datetime.fromisoformat(user[k]) for k in ("last_login_at", "created_at"))
    assert last - first == timedelta(hours=1)


def test_deleting_forgets_the_user_and_the_next_login_is_a_new_one(
    world: ApiWorld, acme: Harness
) -> None:
    sub = log_in(acme)
    path = f"{users(ACME)}/{sub}"
    assert world.admin().delete(path).status_code == 204
    assert world.admin().get(path).status_code == 404
    assert world.admin().delete(path).status_code == 404
    assert world.admin().get(users(ACME)).json()["items"] == []
    with world.store.unit_of_work() as uow:
        [event] = uow.audit.list(kind="user.deleted")
    assert event.actor == f"management_client:{world.admin().client_id}"
    assert (event.organization_id, event.connection_id) == (ACME, "con_acme")
    assert event.detail == {"user_id": sub}  # no email copied into the log it erases
    assert log_in(acme) != sub


def test_another_organizations_user_is_not_found_like_an_absent_one(
    world: ApiWorld, acme: Harness
) -> None:
    """The same requests while the user is another organization's and once it is gone."""
    log_in(acme)
    theirs = other_organization_user(world)
    path = f"{users(ACME)}/{theirs}"
    foreign = [world.admin().get(path), world.admin().delete(path)]
    assert theirs not in [u["id"] for u in world.admin().get(users(ACME)).json()["items"]]
    assert world.admin().get(f"{users('org_other')}/{theirs}").status_code == 200  # untouched
    assert world.admin().delete(f"{users('org_other')}/{theirs}").status_code == 204
    absent = [world.admin().get(path), world.admin().delete(path)]
    for seen, gone in zip(foreign, absent, strict=True):
        assert_same_not_found(seen, gone)


def test_an_absent_organization_has_no_users(world: ApiWorld) -> None:
    for response in (
        world.admin().get(users("org_absent")),
        world.admin().get(f"{users('org_absent')}/usr_x"),
        world.admin().delete(f"{users('org_absent')}/usr_x"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"] == "organization org_absent"


def test_a_path_with_a_control_character_names_nothing(world: ApiWorld, acme: Harness) -> None:
    """Not a 500 from PostgreSQL, which refuses NUL in a text parameter."""
    for response in (
        world.admin().get(users("org%00")),
        world.admin().get(f"{users(ACME)}/usr%00"),
        world.admin().delete(f"{users(ACME)}/usr%1b"),
    ):
        assert response.status_code == 404, response.text


def test_pages_by_first_login_are_stable_under_new_logins(world: ApiWorld, acme: Harness) -> None:
    def record(subject: str) -> str:
        world.clock.advance(timedelta(seconds=1))
        with world.store.unit_of_work() as uow:
            return uow.identities.record_login(
                organization_id=ACME, connection_id="con_acme", idp_subject=subject,
                email=None, new_id=new_id("usr"), now=world.clock.now(),
            ).id  # fmt: skip

    made = [record(f"idp-{i}") for i in range(5)]
    seen: list[str] = []
    page = world.admin().get(users(ACME), params={"limit": 2}).json()
    seen += [u["id"] for u in page["items"]]
    made.append(record("idp-late"))  # a first login between two pages
    record("idp-0")  # and a returning user: a new last login, not a new place in the list
    while page["next_cursor"]:
        page = world.admin().get(users(ACME), params={"limit": 2, "cursor": page["next_cursor"]})
        page = page.json()
        seen += [u["id"] for u in page["items"]]
    assert seen == made


def test_reading_needs_users_read_and_deleting_users_write(world: ApiWorld, acme: Harness) -> None:
    sub = log_in(acme)
    item = f"{users(ACME)}/{sub}"
    reader, writer = world.caller("users:read"), world.caller("users:write")
    assert reader.get(users(ACME)).status_code == 200
    assert reader.get(item).status_code == 200
    assert_scope_refused(reader.delete(item), "users:write")
    assert_scope_refused(writer.get(users(ACME)), "users:read")
    assert_scope_refused(writer.get(item), "users:read")
    assert world.admin().get(item).status_code == 200
