"""Each quirk of `broker.directory.quirks` with the exact body its vendor sends: first the
rewrite alone, then through the service, with the state it must leave."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.directory import quirks
from broker.store import Store
from tests.support.config import OUT_OF_REACH
from tests.support.scim import GROUP_SCHEMA, PATCH_OP, ScimWorld, scim_world, user_body

MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@pytest.fixture
def world(sqlite_database, tmp_path: Path) -> ScimWorld:  # type: ignore[no-untyped-def]
    from broker.store.sql import SqlStore

    return scim_world(SqlStore(sqlite_database.engine), tmp_path, rate_limits=OUT_OF_REACH)


def entra_patch(*operations: dict[str, object]) -> dict[str, object]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


# -- the rewrites alone --------------------------------------------------------------------


def test_capitalised_op_names_are_lowered() -> None:
    body = entra_patch(
        {"op": "Replace", "path": "displayName", "value": "x"}, {"op": "Add", "path": "title"}
    )
    assert [op["op"] for op in quirks.lowercase_op_names(body)["Operations"]] == ["replace", "add"]


def test_boolean_strings_become_booleans_only_where_the_attribute_is_boolean() -> None:
    body = entra_patch(
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": "displayName", "value": "True"},
        {
            "op": "Replace",
            "value": {"active": "true", "emails": [{"value": "a@x", "primary": "True"}]},
        },
    )
    ops = quirks.boolean_strings(body)["Operations"]
    assert ops[0]["value"] is False
    assert ops[1]["value"] == "True"
    assert ops[2]["value"] == {"active": True, "emails": [{"value": "a@x", "primary": True}]}
    assert quirks.boolean_strings({"userName": "a", "active": "False"})["active"] is False


def test_removing_listed_members_removes_only_them() -> None:
    body = entra_patch(
        {
            "op": "Remove",
            "path": "members",
            "value": [{"$ref": None, "value": 'a"b'}, {"value": "c"}],
        }
    )
    assert quirks.remove_members_by_value(body)["Operations"] == [
        {"op": "remove", "path": 'members[value eq "a\\"b"]'},
        {"op": "remove", "path": 'members[value eq "c"]'},
    ]
    plain = entra_patch({"op": "remove", "path": "members"})
    assert quirks.remove_members_by_value(plain) == plain


def test_paths_in_a_value_object_become_operations() -> None:
    body = entra_patch(
        {
            "op": "Replace",
            "value": {
                "displayName": "Ann",
                "name.givenName": "Ann",
                'emails[type eq "work"].value': "a@x",
            },
        }
    )
    assert quirks.paths_in_value_objects(body)["Operations"] == [
        {"op": "Replace", "value": {"displayName": "Ann"}},
        {"op": "Replace", "path": "name.givenName", "value": "Ann"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "a@x"},
    ]


def test_a_typed_value_without_target_is_added() -> None:
    body = entra_patch({"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@x"})
    without = quirks.typed_value_without_target(
        body, {"emails": [{"type": "home", "value": "h@x"}]}
    )
    assert without["Operations"] == [
        {"op": "add", "path": "emails", "value": [{"type": "work", "value": "new@x"}]}
    ]
    with_work = quirks.typed_value_without_target(
        body, {"emails": [{"type": "work", "value": "old@x"}]}
    )
    assert with_work == body


def test_an_unannounced_extension_urn_is_dropped_but_not_an_unknown_base() -> None:
    entra = {"schemas": [GROUP_SCHEMA, MS_GROUP], "displayName": "G"}
    assert quirks.unannounced_extension_schemas(entra)["schemas"] == [GROUP_SCHEMA]
    unknown = {"schemas": ["urn:example:base"], "displayName": "G"}
    assert quirks.unannounced_extension_schemas(unknown) == unknown
    with_data = {"schemas": [GROUP_SCHEMA, "urn:example:ext"], "urn:example:ext": {}}
    assert quirks.unannounced_extension_schemas(with_data) == with_data


def test_a_standard_body_passes_unchanged() -> None:
    body = entra_patch({"op": "add", "path": "members", "value": [{"value": "u1"}]})
    assert quirks.normalise_body(body) == body
    assert quirks.normalise_body([1, 2]) == [1, 2]


# -- through the service -------------------------------------------------------------------


def test_entra_deactivates_with_a_capitalised_op_and_a_string_boolean(world: ScimWorld) -> None:
    client = world.client()
    user = client.post("Users", json=user_body("ann", active=True)).json()
    response = client.patch(
        f"Users/{user['id']}",
        json=entra_patch({"op": "Replace", "path": "active", "value": "False"}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert sorted(k for k, _ in world.events("directory.user")) == [
        "directory.user.created",
        "directory.user.deactivated",
    ]
    with world.store.unit_of_work() as uow:
        assert uow.directory_users.get(world.directory_id, user["id"]).is_active is False


def test_okta_deactivates_with_a_value_object_and_reactivates(world: ScimWorld) -> None:
    client = world.client()
    user = client.post("Users", json=user_body("ann", active=True)).json()
    off = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    on = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": True}}]}
    assert client.patch(f"Users/{user['id']}", json=off).json()["active"] is False
    assert client.patch(f"Users/{user['id']}", json=on).json()["active"] is True
    kinds = [k for k, _ in world.events("directory.user")]
    assert sorted(kinds) == [
        "directory.user.created",
        "directory.user.deactivated",
        "directory.user.reactivated",
    ]


def test_entra_removes_one_member_and_keeps_the_others(world: ScimWorld) -> None:
    client = world.client()
    ids = [client.post("Users", json=user_body(f"u{n}")).json()["id"] for n in range(3)]
    group = client.post(
        "Groups",
        json={
            "schemas": [GROUP_SCHEMA, MS_GROUP],
            "displayName": "G",
            "members": [{"value": i} for i in ids],
        },
    ).json()
    body = entra_patch(
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": ids[0]}]}
    )
    response = client.patch(f"Groups/{group['id']}", json=body)
    assert response.status_code == 200, response.text
    assert sorted(m["value"] for m in response.json()["members"]) == sorted(ids[1:])


def test_entra_sets_a_work_email_the_user_did_not_have(world: ScimWorld) -> None:
    client = world.client()
    user = client.post(
        "Users", json=user_body("ann", emails=[{"type": "home", "value": "ann@home.example"}])
    ).json()
    body = entra_patch(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ann@acme.example"},
        {"op": "Replace", "path": "name.familyName", "value": "Lee"},
    )
    response = client.patch(f"Users/{user['id']}", json=body)
    assert response.status_code == 200, response.text
    emails = {e["type"]: e["value"] for e in response.json()["emails"]}
    assert emails == {"home": "ann@home.example", "work": "ann@acme.example"}
    found = client.get("Users", params={"filter": 'emails eq "ann@acme.example"'}).json()
    assert found["totalResults"] == 1


def test_an_email_change_is_an_update_of_the_same_user(world: ScimWorld) -> None:
    client = world.client()
    user = client.post(
        "Users",
        json=user_body(
            "ann", emails=[{"type": "work", "value": "ann@old.example", "primary": True}]
        ),
    ).json()
    body = entra_patch(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ann@new.example"}
    )
    response = client.patch(f"Users/{user['id']}", json=body)
    assert response.json()["id"] == user["id"]
    with world.store.unit_of_work() as uow:
        stored = uow.directory_users.get(world.directory_id, user["id"])
        assert stored.primary_email == "ann@new.example"
    assert sorted(k for k, _ in world.events("directory.user")) == [
        "directory.user.created",
        "directory.user.updated",
    ]


def test_entra_paths_inside_a_value_object(world: ScimWorld) -> None:
    client = world.client()
    user = client.post("Users", json=user_body("ann")).json()
    body = entra_patch(
        {"op": "Replace", "value": {"name.givenName": "Ann", "displayName": "Ann L"}}
    )
    response = client.patch(f"Users/{user['id']}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["name"]["givenName"] == "Ann"
    assert response.json()["displayName"] == "Ann L"


def test_a_retried_create_is_409_uniqueness_and_one_user(world: ScimWorld) -> None:
    client = world.client()
    body = user_body("ann@acme.example", externalId="00u1")
    assert client.post("Users", json=body).status_code == 201
    retried = client.post("Users", json={**body, "userName": "ANN@acme.example"})
    assert retried.status_code == 409
    assert retried.json()["scimType"] == "uniqueness"
    assert world.user_count() == 1


def test_entra_probes_with_count_zero(world: ScimWorld) -> None:
    client = world.client()
    client.post("Users", json=user_body("ann"))
    probe = client.get("Users", params={"count": "0", "filter": 'userName eq "nobody"'})
    assert probe.status_code == 200
    assert probe.json()["totalResults"] == 0


def test_okta_content_type_with_charset_and_plain_json(world: ScimWorld) -> None:
    client = world.client()
    for n, content_type in enumerate(("application/scim+json; charset=utf-8", "application/json")):
        response = client.post(
            "Users", json=user_body(f"u{n}"), headers={"Content-Type": content_type}
        )
        assert response.status_code == 201, response.text
