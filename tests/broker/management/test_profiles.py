"""`/api/v1/profiles`: self-service profiles in Auth0's shape (`user_attributes`,
`branding.colors.primary`, `allowed_strategies`) with `required` for `is_optional`; every
field checked for what the portal will show, errors pointing at the field."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from broker.model.vendors import STRATEGIES
from tests.support.management_api import ApiWorld
from tests.support.management_checks import assert_scope_refused, organization, pointers

FULL: dict[str, object] = {
    "name": "Enterprise",
    "description": "Customers on the enterprise plan",
    "user_attributes": [
        {"name": "email", "description": "Work email", "required": True},
        {"name": "groups", "required": False},
    ],
    "branding": {"logo_url": "https://cdn.example/logo.svg", "colors": {"primary": "#19AEF0"}},
    "allowed_strategies": ["okta", "entra", "generic-saml"],
    "introduction": "Welcome!\nSet up SSO for <Example> in ten minutes.",
}


def create(world: ApiWorld, body: dict[str, object]) -> dict[str, object]:
    world.clock.advance(timedelta(seconds=1))
    response = world.admin().post("/profiles", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def kinds(world: ApiWorld) -> list[tuple[str, str | None, object]]:
    with world.store.unit_of_work() as uow:
        return [(e.kind, e.actor, e.detail.get("profile_id")) for e in uow.audit.list()]


def test_create_read_list_update_and_delete(world: ApiWorld) -> None:
    admin = world.admin()
    created = create(world, FULL)
    profile_id = str(created["id"])
    assert profile_id.startswith("ssp_")
    assert {k: v for k, v in created.items() if k not in ("id", "created_at", "updated_at")} == {
        **FULL,
        "user_attributes": [
            {"name": "email", "description": "Work email", "required": True},
            {"name": "groups", "description": "", "required": False},
        ],
        "branding": {"logo_url": "https://cdn.example/logo.svg", "colors": {"primary": "#19aef0"}},
    }
    assert admin.get(f"/profiles/{profile_id}").json() == created
    assert admin.get("/profiles").json() == {"items": [created], "next_cursor": None}

    world.clock.advance(timedelta(minutes=1))
    patched = admin.patch(
        f"/profiles/{profile_id}",
        json={"name": "Enterprise EU", "branding": None, "allowed_strategies": ["google"]},
    )
    assert patched.status_code == 200, patched.text
    updated = patched.json()
    assert updated["name"] == "Enterprise EU"
    assert updated["branding"] == {"logo_url": None, "colors": None}
    assert updated["allowed_strategies"] == ["google"]
    assert updated["user_attributes"] == created["user_attributes"]  # not sent, not changed
    assert updated["created_at"] == created["created_at"]
    assert datetime.fromisoformat(updated["updated_at"]) == world.clock.now()

    world.clock.advance(timedelta(seconds=1))
    assert admin.delete(f"/profiles/{profile_id}").status_code == 204
    assert admin.get(f"/profiles/{profile_id}").status_code == 404
    actor = f"management_client:{admin.client_id}"
    assert kinds(world) == [
        ("profile.deleted", actor, profile_id),
        ("profile.updated", actor, profile_id),
        ("profile.created", actor, profile_id),
    ]


def test_defaults_are_every_idp_and_a_required_email(world: ApiWorld) -> None:
    created = create(world, {"name": "Default"})
    assert created["allowed_strategies"] == list(STRATEGIES)
    assert created["user_attributes"] == [{"name": "email", "description": "", "required": True}]
    assert created["branding"] == {"logo_url": None, "colors": None}
    assert created["description"] == created["introduction"] == ""


def test_an_unchanged_patch_records_nothing(world: ApiWorld) -> None:
    created = create(world, FULL)
    same = world.admin().patch(f"/profiles/{created['id']}", json={"name": "Enterprise"})
    assert same.json() == created
    assert [k for k, _, _ in kinds(world)] == ["profile.created"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"branding": {"colors": {"primary": "red"}}}, {"/branding/colors/primary"}),
        ({"branding": {"colors": {"primary": "#12345g"}}}, {"/branding/colors/primary"}),
        ({"branding": {"colors": {}}}, {"/branding/colors/primary"}),
        ({"branding": {"logo_url": "http://cdn.example/logo.png"}}, {"/branding/logo_url"}),
        ({"branding": {"logo_url": "javascript:alert(1)"}}, {"/branding/logo_url"}),
        ({"branding": {"logo_url": "https://user:pw@cdn.example/l.png"}}, {"/branding/logo_url"}),
        ({"branding": {"logo_url": "//cdn.example/logo.png"}}, {"/branding/logo_url"}),
        ({"user_attributes": [{"name": "phone", "required": True}]}, {"/user_attributes/0/name"}),
        ({"user_attributes": [{"name": "email", "required": True},
                              {"name": "email", "required": False}]},
         {"/user_attributes/1/name"}),
        ({"user_attributes": [{"name": "email"}]}, {"/user_attributes/0/required"}),
        ({"user_attributes": [{"name": "email", "is_optional": False, "required": True}]},
         {"/user_attributes/0/is_optional"}),
        ({"allowed_strategies": []}, {"/allowed_strategies"}),
        ({"allowed_strategies": ["okta", "saml"]}, {"/allowed_strategies/1"}),
        ({"introduction": "x" * 2001}, {"/introduction"}),
        ({"introduction": "Hello\x00"}, {"/introduction"}),
        ({"description": "a\x1b[31m"}, {"/description"}),
        ({"name": ""}, {"/name"}),
    ],
)  # fmt: skip
def test_invalid_fields_are_pointed_at(
    world: ApiWorld, change: dict[str, object], expected: set[str]
) -> None:
    created = create(world, FULL)
    assert pointers(world.admin().post("/profiles", json=FULL | change)) == expected
    assert pointers(world.admin().patch(f"/profiles/{created['id']}", json=change)) == expected
    assert world.admin().get(f"/profiles/{created['id']}").json() == created
    assert len(world.admin().get("/profiles").json()["items"]) == 1


def test_several_errors_are_reported_together(world: ApiWorld) -> None:
    body = FULL | {
        "user_attributes": [{"name": "email", "required": True}, {"name": "nick", "required": 1}],
        "allowed_strategies": ["okta", "nope"],
        "branding": {"logo_url": "ftp://x.example/l.png", "colors": {"primary": "#abcdef"}},
    }
    assert pointers(world.admin().post("/profiles", json=body)) == {
        "/user_attributes/1/name",
        "/allowed_strategies/1",
        "/branding/logo_url",
    }


def test_server_controlled_fields_cannot_be_assigned(world: ApiWorld) -> None:
    """M-04: refused (422), not ignored."""
    body = FULL | {"id": "ssp_mine", "created_at": "2020-01-01T00:00:00Z", "updated_at": "x"}
    assert pointers(world.admin().post("/profiles", json=body)) == {
        "/id",
        "/created_at",
        "/updated_at",
    }
    created = create(world, FULL)
    assert pointers(world.admin().patch(f"/profiles/{created['id']}", json={"id": "x"})) == {"/id"}
    assert world.admin().get("/profiles").json()["items"] == [created]


def test_null_is_refused_where_a_value_is_required(world: ApiWorld) -> None:
    created = create(world, FULL)
    body = {"name": None, "allowed_strategies": None, "user_attributes": None}
    assert pointers(world.admin().patch(f"/profiles/{created['id']}", json=body)) == {
        "/name",
        "/allowed_strategies",
        "/user_attributes",
    }


def test_text_is_kept_as_written_for_the_portal_to_escape(world: ApiWorld) -> None:
    intro = '<script>alert(1)</script>\n\tIndented & "quoted"\r\nnext line'
    created = create(world, {"name": "Plain", "introduction": intro})
    assert created["introduction"] == intro.replace("\r\n", "\n")


def test_an_absent_profile_is_404_on_every_item_operation(world: ApiWorld) -> None:
    admin = world.admin()
    for response in (
        admin.get("/profiles/ssp_absent"),
        admin.patch("/profiles/ssp_absent", json={"name": "X"}),
        admin.delete("/profiles/ssp_absent"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"] == "self-service profile ssp_absent"


def test_a_deleted_profile_leaves_its_links_working_without_it(world: ApiWorld) -> None:
    org = organization(world)
    profile = create(world, FULL)
    link = world.admin().post(
        f"/organizations/{org}/portal-links", json={"profile_id": profile["id"]}
    )
    assert link.status_code == 201
    assert world.admin().delete(f"/profiles/{profile['id']}").status_code == 204
    [listed] = world.admin().get(f"/organizations/{org}/portal-links").json()["items"]
    assert listed["profile_id"] is None
    assert listed["status"] == "active"


def test_pages_oldest_first_and_stable_under_inserts(world: ApiWorld) -> None:
    made = [create(world, {"name": f"P{i}"})["id"] for i in range(3)]
    first = world.admin().get("/profiles", params={"limit": 2}).json()
    made.append(create(world, {"name": "P3"})["id"])
    rest = world.admin().get("/profiles", params={"cursor": first["next_cursor"]}).json()
    assert [p["id"] for p in first["items"] + rest["items"]] == made


def test_a_retried_create_makes_one_profile(world: ApiWorld) -> None:
    headers = {"Idempotency-Key": "profile-1"}
    first = world.admin().post("/profiles", json=FULL, headers=headers)
    again = world.admin().post("/profiles", json=FULL, headers=headers)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(world.admin().get("/profiles").json()["items"]) == 1


def test_reading_needs_profiles_read_and_changing_profiles_write(world: ApiWorld) -> None:
    created = create(world, FULL)
    item = f"/profiles/{created['id']}"
    reader, writer = world.caller("profiles:read"), world.caller("profiles:write")
    assert reader.get("/profiles").status_code == 200
    assert reader.get(item).status_code == 200
    for response in (
        reader.post("/profiles", json=FULL),
        reader.patch(item, json={"name": "X"}),
        reader.delete(item),
    ):
        assert_scope_refused(response, "profiles:write")
    for response in (writer.get("/profiles"), writer.get(item)):
        assert_scope_refused(response, "profiles:read")
    assert world.admin().get(item).json() == created
